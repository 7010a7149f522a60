//! Kong's phases, as the bitmask the PDK checks (`kong/pdk/private/phases.lua` values), so a
//! plugin calling a function in the wrong phase gets Kong's own error.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    InitWorker = 0x1,
    Rewrite = 0x10,
    Access = 0x20,
    Response = 0x80,
    HeaderFilter = 0x200,
    BodyFilter = 0x400,
    Timer = 0x1000,
    Log = 0x2000,
    Configure = 0x4000_0000,
}

impl Phase {
    pub const ALL: [Phase; 9] = [
        Phase::InitWorker,
        Phase::Rewrite,
        Phase::Access,
        Phase::Response,
        Phase::HeaderFilter,
        Phase::BodyFilter,
        Phase::Timer,
        Phase::Log,
        Phase::Configure,
    ];

    /// The handler method and `ngx.get_phase()` name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::InitWorker => "init_worker",
            Phase::Rewrite => "rewrite",
            Phase::Access => "access",
            Phase::Response => "response",
            Phase::HeaderFilter => "header_filter",
            Phase::BodyFilter => "body_filter",
            Phase::Timer => "timer",
            Phase::Log => "log",
            Phase::Configure => "configure",
        }
    }

    /// Whether a Lua handler may yield in this phase (nginx runs the others to completion).
    pub fn may_yield(self) -> bool {
        matches!(self, Phase::Rewrite | Phase::Access | Phase::Response)
    }

    pub fn bit(self) -> u32 {
        self as u32
    }
}

/// A set of phases a PDK function may be called in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases(pub u32);

impl Phases {
    pub const fn of(phases: &[Phase]) -> Phases {
        let mut bits = 0;
        let mut i = 0;
        while i < phases.len() {
            bits |= phases[i] as u32;
            i += 1;
        }
        Phases(bits)
    }

    pub fn contains(self, phase: Phase) -> bool {
        self.0 & phase.bit() != 0
    }

    /// `Ok` when `current` is allowed, else Kong's error text.
    pub fn check(self, current: Phase) -> Result<(), String> {
        if self.contains(current) {
            return Ok(());
        }
        let mut msg = format!(
            "function cannot be called in {} phase (only in: ",
            current.name()
        );
        let allowed: Vec<&str> = Phase::ALL
            .iter()
            .filter(|p| self.contains(**p))
            .map(|p| p.name())
            .collect();
        let _ = write!(msg, "{})", allowed.join(", "));
        Err(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_phase_gives_kongs_message() {
        let p = Phases::of(&[Phase::Rewrite, Phase::Access]);
        assert!(p.check(Phase::Access).is_ok());
        assert_eq!(
            p.check(Phase::Log).unwrap_err(),
            "function cannot be called in log phase (only in: rewrite, access)"
        );
    }
}
