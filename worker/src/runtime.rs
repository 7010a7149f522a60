//! A worker's life after the fork: runtime, signals, serving, drain and exit.

use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::LocalSet;

use crate::gateway::Gateway;
use crate::server::{self, Lifecycle, Phase};
use crate::settings::Settings;
use crate::{access_log, WorkerInit, EXIT_FATAL};

/// How long after `QUIT` idle keep-alive connections stay open, so clients that send one more
/// request get it served (with `Connection: close`) instead of a reset.
const KEEPALIVE_GRACE: Duration = Duration::from_millis(1000);

/// Runs a worker to the end and returns its exit status. Call right after `fork`, in the child.
pub fn run(init: WorkerInit) -> i32 {
    // A worker never outlives its master (tests and crashes must not leave orphans on ports).
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    if nix::unistd::getppid() == nix::unistd::Pid::from_raw(1) {
        return 0;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            sluice_log::emerg!("cannot build the worker runtime: {e}");
            return EXIT_FATAL;
        }
    };
    LocalSet::new().block_on(&rt, serve(init))
}

async fn serve(init: WorkerInit<'_>) -> i32 {
    let (Ok(mut quit), Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
        signal(SignalKind::quit()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) else {
        sluice_log::emerg!("cannot install signal handlers");
        return EXIT_FATAL;
    };
    // The master blocked these before forking; handlers exist now, so nothing pending is lost.
    let _ = SigSet::all().thread_unblock();

    let config = &init.loaded.config;
    let settings = Settings::from_node(&config.node, init.worker_count);
    let life = Lifecycle::new();
    let built = crate::plugins::vm(config, Some(init.slot), init.zones).and_then(|lua| {
        Gateway::build(
            init.loaded,
            settings,
            init.slot,
            life.clone(),
            lua,
            init.zones,
        )
    });
    let gw = match built {
        Ok(gw) => Rc::new(gw),
        Err(e) => {
            sluice_log::emerg!("worker {} cannot start: {e}", init.slot);
            return EXIT_FATAL;
        }
    };
    if let Some(plugins) = &gw.plugins {
        plugins.init_worker();
    }
    crate::pdk::worker_started();
    match crate::open_log(&config.node.proxy_access_log) {
        Ok(log) => access_log::init(log),
        Err(e) => sluice_log::error!("cannot open the access log: {e}"),
    }
    let tls = if init.listeners.iter().any(|l| l.ssl) {
        match crate::tls::acceptor(&config.node.ssl_cert_pairs(), &config.declarative) {
            Ok(acceptor) => Some(acceptor),
            Err(e) => {
                sluice_log::emerg!("worker {} cannot start: {e}", init.slot);
                return EXIT_FATAL;
            }
        }
    } else {
        None
    };
    for crate::Listener {
        kind,
        ssl,
        http2,
        socket,
    } in init.listeners
    {
        let listener = match socket
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(socket))
        {
            Ok(l) => l,
            Err(e) => {
                sluice_log::emerg!("worker {} cannot use its listening socket: {e}", init.slot);
                return EXIT_FATAL;
            }
        };
        let tls = tls.as_ref().filter(|_| ssl);
        let tls = tls.map(|a| {
            if http2 {
                crate::tls::offering_h2(a)
            } else {
                a.clone()
            }
        });
        tokio::task::spawn_local(server::accept_loop(
            listener,
            kind,
            tls,
            http2,
            gw.clone(),
            life.clone(),
        ));
    }
    let _ = std::fs::File::from(init.ready).write_all(b"1");
    sluice_log::info!("worker {} serving", init.slot);

    loop {
        tokio::select! {
            _ = quit.recv() => break,
            _ = term.recv() => return 0,
            _ = int.recv() => return 0,
            _ = hup.recv() => {} // the master reloads; workers are replaced, not reconfigured
            _ = usr1.recv() => {
                if let Err(e) = sluice_log::reopen().and_then(|()| access_log::reopen()) {
                    sluice_log::error!("reopening logs failed: {e}");
                }
            }
        }
    }
    drain(&gw, &life, &mut term, &mut int).await
}

/// How long a retiring worker waits for plugin servers to close its instances.
const CLOSE_INSTANCES_TIMEOUT: Duration = Duration::from_secs(2);

/// Graceful stop: stop accepting, let keep-alive clients learn to go elsewhere, finish what is in
/// flight within the drain timeout. A `TERM`/`INT` during the drain makes it fast.
async fn drain(
    gw: &Gateway,
    life: &Lifecycle,
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
) -> i32 {
    sluice_log::info!("worker {} gracefully shutting down", gw.worker_id);
    life.set(Phase::Draining);
    if let Some(plugins) = &gw.plugins {
        crate::pdk::stop_timers(&plugins.lua);
    }
    let connections = async {
        tokio::select! {
            _ = life.closed() => return,
            _ = tokio::time::sleep(KEEPALIVE_GRACE) => {}
        }
        life.set(Phase::Closing);
        life.closed().await;
    };
    // Premature timers get to finish too, within the same drain timeout.
    let finished = async {
        connections.await;
        crate::pdk::timers_idle().await;
    };
    tokio::select! {
        _ = finished => {}
        _ = tokio::time::sleep(gw.settings.drain_timeout) => {
            sluice_log::warn!("worker {} drain timeout: closing {} connections", gw.worker_id, life.open_connections());
        }
        _ = term.recv() => return 0,
        _ = int.recv() => return 0,
    }
    if let Some(plugins) = &gw.plugins {
        let closing = plugins.close_instances();
        if tokio::time::timeout(CLOSE_INSTANCES_TIMEOUT, closing)
            .await
            .is_err()
        {
            sluice_log::warn!(
                "worker {}: plugin servers did not close instances in time",
                gw.worker_id
            );
        }
    }
    0
}
