//! The master's set of zones, kept across worker crashes and HUP reloads.

use std::sync::Arc;

use crate::error::ZoneError;
use crate::zone::{check_spec, Zone};

/// What a [`ZoneSet::reconcile`] did, by zone name (for the master's log).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// Same name and size: contents kept.
    pub kept: Vec<String>,
    /// New or resized: created empty.
    pub created: Vec<String>,
    /// No longer declared: unmapped here (processes that still map them keep their copy).
    pub dropped: Vec<String>,
}

/// All zones of a node, in declaration order.
#[derive(Debug, Default)]
pub struct ZoneSet {
    zones: Vec<Arc<Zone>>,
}

impl ZoneSet {
    /// Creates every declared zone (`lua_shared_dict = name size, ...`), empty.
    pub fn create<S: AsRef<str>>(specs: &[(S, usize)]) -> Result<ZoneSet, ZoneError> {
        let mut set = ZoneSet::default();
        set.reconcile(specs)?;
        Ok(set)
    }

    /// Brings the set in line with a new declaration (on HUP): a zone whose name and size are
    /// unchanged is kept with its contents; new or resized zones are created empty; the rest
    /// are dropped. On error nothing changes.
    pub fn reconcile<S: AsRef<str>>(
        &mut self,
        specs: &[(S, usize)],
    ) -> Result<Reconciled, ZoneError> {
        for (i, (name, size)) in specs.iter().enumerate() {
            let name = name.as_ref();
            check_spec(name, *size)?;
            if specs[..i].iter().any(|(other, _)| other.as_ref() == name) {
                return Err(ZoneError::Duplicate {
                    name: name.to_owned(),
                });
            }
        }
        let mut report = Reconciled::default();
        let mut zones = Vec::with_capacity(specs.len());
        for (name, size) in specs {
            let name = name.as_ref();
            match self.get(name) {
                Some(zone) if zone.capacity() == *size => {
                    zones.push(zone.clone());
                    report.kept.push(name.to_owned());
                }
                _ => {
                    zones.push(Arc::new(Zone::create(name, *size)?));
                    report.created.push(name.to_owned());
                }
            }
        }
        report.dropped = self
            .zones
            .iter()
            .filter(|z| !zones.iter().any(|n| n.name() == z.name()))
            .map(|z| z.name().to_owned())
            .collect();
        self.zones = zones;
        Ok(report)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Zone>> {
        self.zones.iter().find(|z| z.name() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.iter()
    }

    /// Frees every zone lock held by the dead process `pid`; returns how many were held.
    pub fn force_unlock(&self, pid: u32) -> usize {
        self.zones.iter().filter(|z| z.force_unlock(pid)).count()
    }
}
