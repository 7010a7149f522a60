//! A worker's client of one plugin server: pooled connections, the instances it started,
//! and restart awareness (lost instances are started again and the event retried once).
//!
//! Single-threaded by design (one per worker, on a `current_thread` runtime): nothing here
//! is `Send`, and no borrow of its cells is held across an await.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Duration;

use rmpv::Value;
use serde::Serialize;

use crate::codec::encode_request;
use crate::error::Error;
use crate::event::{
    parse_step, Answer, EventOutcome, HandleEvent, PdkCall, PdkDispatch, PdkReply, Step, StepIn,
};
use crate::info::Extensions;
use crate::instance::{InstanceConfig, Instances, Running, Slot};
use crate::pool::{Lease, Pool};
use crate::step;

/// Connection and timing settings of one worker's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `pluginserver_<name>_socket`.
    pub socket: PathBuf,
    /// Bound on every single RPC (HandleEvent, each Step, StartInstance, ...) and on
    /// waiting for a free connection. A hung sidecar fails requests after this.
    pub call_timeout: Duration,
    pub connect_timeout: Duration,
    /// Connections leased at once by this worker (concurrent event conversations).
    pub max_connections: usize,
    /// Idle connections kept for reuse. As many as may be leased: one closed after a burst
    /// costs the next burst a connect, an accept and the server's greeting.
    pub max_idle: usize,
    /// The protocol extensions the server announced; none for Kong's servers.
    pub extensions: Extensions,
}

impl ClientConfig {
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        ClientConfig {
            socket: socket.into(),
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            max_connections: 64,
            max_idle: 64,
            extensions: Extensions::default(),
        }
    }
}

/// Talks `MsgPack:1` to one plugin server on behalf of one worker.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    pool: Pool,
    instances: Instances,
    /// Bumped whenever instances may be gone (lost one, restart): older ones are not reused.
    epoch: Cell<u64>,
    /// Bumped on evidence of a new server process only (pid change, dead pooled
    /// connections, new generation); a plain lost instance does not disturb other events.
    restarts: Cell<u64>,
    last_pid: Cell<Option<u32>>,
    generation: Cell<Option<u64>>,
    msgid: Cell<u32>,
}

/// Runs a call the server deferred: its result is dropped (the plugin went on without
/// it, as Kong ≥3.0 drops `nil, err`), but a raised error ends the event as it would have
/// at that call.
fn run_deferred(pdk: &mut dyn PdkDispatch, call: PdkCall) -> Result<(), Error> {
    if step::is_terminal(&call.method) {
        return Err(Error::Protocol {
            reason: format!("{} cannot be deferred", call.method),
            context: String::new(),
        });
    }
    match pdk.tell(&call.method, call.args) {
        PdkReply::Raise(message) => Err(Error::Pdk {
            method: call.method,
            message,
        }),
        PdkReply::Value(_) | PdkReply::Error(_) => Ok(()),
    }
}

/// A failure before any PDK call was answered, and whether a restart explains it.
enum Attempt {
    /// The server restarted or lost the instance: start it again and retry once.
    Retry(Error),
    Fail(Error),
}

impl Client {
    pub fn new(config: ClientConfig) -> Self {
        let pool = Pool::new(
            config.socket.clone(),
            config.max_connections,
            config.max_idle,
            config.connect_timeout,
        );
        Client {
            config,
            pool,
            instances: Instances::default(),
            epoch: Cell::new(0),
            restarts: Cell::new(0),
            last_pid: Cell::new(None),
            generation: Cell::new(None),
            msgid: Cell::new(0),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Tells the client the sidecar's generation (a counter the master bumps each time it
    /// respawns the sidecar). A change forgets every instance and pooled connection.
    pub fn observe_generation(&self, generation: u64) {
        if self
            .generation
            .replace(Some(generation))
            .is_some_and(|g| g != generation)
        {
            self.server_restarted();
        }
    }

    /// Runs one phase event of the plugin configured by `conf`, answering its PDK calls
    /// with `pdk`. Starts the instance on first use (or after a config change), and when
    /// the server restarted or lost the instance, starts it again and retries once.
    pub async fn run_event(
        &self,
        conf: &InstanceConfig,
        phase: &str,
        pdk: &mut dyn PdkDispatch,
    ) -> Result<EventOutcome, Error> {
        match self.attempt_event(conf, phase, pdk).await {
            Ok(outcome) => Ok(outcome),
            Err(Attempt::Fail(e)) => Err(e),
            Err(Attempt::Retry(_)) => match self.attempt_event(conf, phase, pdk).await {
                Ok(outcome) => Ok(outcome),
                Err(Attempt::Fail(e) | Attempt::Retry(e)) => Err(e),
            },
        }
    }

    /// Closes the instances of every plugin entity `keep` rejects (after a reload dropped
    /// them). All are tried; the first error is returned. `keep` gets `__plugin_id`s.
    pub async fn close_instances(&self, keep: &dyn Fn(&str) -> bool) -> Result<(), Error> {
        let mut first_err = None;
        for slot in self.instances.remove_unless(keep) {
            let running = slot.lock().await.take();
            let Some(running) = running.filter(|r| r.epoch == self.epoch.get()) else {
                continue;
            };
            if let Err(e) = self.close_instance(running.id).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn close_instance(&self, id: i64) -> Result<(), Error> {
        let mut lease = self.pool.checkout(self.config.call_timeout).await?.lease;
        self.call(&mut lease, "plugin.CloseInstance", &id).await?;
        lease.release();
        Ok(())
    }

    async fn attempt_event(
        &self,
        conf: &InstanceConfig,
        phase: &str,
        pdk: &mut dyn PdkDispatch,
    ) -> Result<EventOutcome, Attempt> {
        let checkout = self
            .pool
            .checkout(self.config.call_timeout)
            .await
            .map_err(Attempt::Fail)?;
        if checkout.saw_dead {
            self.server_restarted();
        }
        let mut lease = checkout.lease;
        let reused = lease.conn.reused();
        let restart_sign = |e: Error| {
            let stale_conn = reused && matches!(e, Error::Gone { .. });
            if e.is_no_plugin_instance() {
                self.forget_instances();
                Attempt::Retry(e)
            } else if stale_conn {
                self.server_restarted();
                Attempt::Retry(e)
            } else {
                Attempt::Fail(e)
            }
        };

        let id = self
            .instance_id(conf, &mut lease)
            .await
            .map_err(restart_sign)?;
        let restarts = self.restarts.get();
        let first = self
            .call(
                &mut lease,
                "plugin.HandleEvent",
                &HandleEvent {
                    instance_id: id,
                    event_name: phase,
                    deferred: self.config.extensions.deferred,
                    request_headers: self
                        .config
                        .extensions
                        .request_headers
                        .then(|| pdk.request_headers())
                        .flatten(),
                },
            )
            .await;
        if self.restarts.get() != restarts {
            // The id may name another config's instance on the new server; whatever that
            // started is abandoned with the connection.
            return Err(Attempt::Retry(Error::Restarted {
                method: "plugin.HandleEvent".into(),
            }));
        }
        let first = first.map_err(restart_sign)?;
        self.converse(lease, &first, pdk)
            .await
            .map_err(Attempt::Fail)
    }

    /// The `Step*` loop, from the answer to `HandleEvent` until `"ret"` or a terminal call.
    async fn converse(
        &self,
        mut lease: Lease<'_>,
        first: &Value,
        pdk: &mut dyn PdkDispatch,
    ) -> Result<EventOutcome, Error> {
        let Answer {
            event_id,
            mut deferred,
            mut next,
        } = parse_step(first)?;
        loop {
            for call in deferred {
                run_deferred(pdk, call)?;
            }
            let PdkCall { method, args } = match next {
                StepIn::Ret => {
                    lease.release();
                    return Ok(EventOutcome::Done);
                }
                StepIn::Call(call) => call,
            };
            let (step_method, data) = match pdk.call(&method, args).await {
                PdkReply::Raise(message) => return Err(Error::Pdk { method, message }),
                _ if step::is_terminal(&method) => {
                    lease.release();
                    return Ok(EventOutcome::Exited);
                }
                PdkReply::Value(v) => (step::step_method(&method), step::shape(&method, v)),
                PdkReply::Error(e) => ("plugin.StepError", Value::from(e)),
            };
            let answer = self
                .call(&mut lease, step_method, &Step { event_id, data })
                .await?;
            // Kong keeps the EventId of HandleEvent's answer for the whole event.
            Answer { deferred, next, .. } = parse_step(&answer)?;
        }
    }

    /// The id of the running instance for `conf`, starting it (and closing the one it
    /// replaces) when there is none for this config that is still known to the server.
    async fn instance_id(
        &self,
        conf: &InstanceConfig,
        lease: &mut Lease<'_>,
    ) -> Result<i64, Error> {
        let slot: Slot = self.instances.slot(conf.plugin_id());
        let mut running = slot.lock().await;
        let epoch = self.epoch.get();
        if let Some(r) = running
            .as_ref()
            .filter(|r| r.epoch == epoch && r.json == conf.json())
        {
            return Ok(r.id);
        }
        let replaced = running.take();
        let status = self
            .call(
                lease,
                "plugin.StartInstance",
                &StartInstance {
                    name: conf.name(),
                    config: conf.json(),
                },
            )
            .await?;
        let id = crate::event::field(&status, "Id")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::Protocol {
                reason: format!("StartInstance answer without an integer Id: {status}"),
                context: String::new(),
            })?;
        *running = Some(Running {
            id,
            epoch: self.epoch.get(),
            json: conf.json().to_owned(),
        });
        // Close the replaced instance only if nothing was lost since it started (nor during
        // this start): after a lost instance or a restart its id may name someone else's.
        let unchanged = self.epoch.get() == epoch;
        if let Some(old) = replaced.filter(|r| unchanged && r.epoch == epoch) {
            // Kong ignores the server's answer (another worker may have closed it first),
            // but a broken connection must not be used for the event.
            match self.call(lease, "plugin.CloseInstance", &old.id).await {
                Ok(_) | Err(Error::Remote { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(id)
    }

    /// One RPC on a leased connection, with the call timeout; notes pid changes.
    async fn call<A: Serialize + ?Sized>(
        &self,
        lease: &mut Lease<'_>,
        method: &str,
        arg: &A,
    ) -> Result<Value, Error> {
        let msgid = self.msgid.get().wrapping_add(1);
        self.msgid.set(msgid);
        let request = encode_request(msgid, method, arg)?;
        let result = lease
            .conn
            .call(msgid, method, &request, self.config.call_timeout)
            .await;
        if let Some(pid) = lease.conn.take_pid() {
            if self
                .last_pid
                .replace(Some(pid))
                .is_some_and(|old| old != pid)
            {
                self.server_restarted();
            }
        }
        result
    }

    /// Instances started before now may be unknown to the server: start them again.
    fn forget_instances(&self) {
        self.epoch.set(self.epoch.get() + 1);
    }

    /// The server process was replaced: its instances and our idle connections are gone.
    fn server_restarted(&self) {
        self.restarts.set(self.restarts.get() + 1);
        self.forget_instances();
        self.pool.clear_idle();
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StartInstance<'a> {
    name: &'a str,
    config: &'a str,
}
