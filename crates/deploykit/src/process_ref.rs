//! A process identified beyond its pid: the pid plus its start time, so a
//! recycled pid is never mistaken for the process that had it.

use serde::{Deserialize, Serialize};

/// A process identified beyond its pid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    /// Its pid (for nodes, also its process group).
    pub pid: i32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub started: u64,
}

impl ProcessRef {
    /// The process `pid`, if it is alive.
    pub fn of(pid: i32) -> Option<Self> {
        start_time(pid).map(|started| Self { pid, started })
    }

    /// Whether this very process still runs (and is not a zombie).
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.started)
    }
}

fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

impl ProcessRef {
    /// The process running this code.
    pub fn current() -> Option<Self> {
        Self::of(i32::try_from(std::process::id()).ok()?)
    }
}

impl std::fmt::Display for ProcessRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.pid, self.started)
    }
}

impl std::str::FromStr for ProcessRef {
    type Err = String;

    /// Parse `pid:start-time`, as [`Display`](std::fmt::Display) writes it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{text:?} is not pid:start-time");
        let (pid, started) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Self {
            pid: pid.parse().map_err(|_| invalid())?,
            started: started.parse().map_err(|_| invalid())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ProcessRef;

    #[test]
    fn the_current_process_is_alive_and_round_trips_through_text() {
        let me = ProcessRef::current().expect("this process has a /proc entry");
        assert!(me.is_alive());
        let parsed: ProcessRef = me.to_string().parse().unwrap();
        assert_eq!(parsed, me);
        let recycled = ProcessRef {
            started: me.started + 1,
            ..me
        };
        assert!(
            !recycled.is_alive(),
            "same pid, other start time: not the same process"
        );
    }
}
