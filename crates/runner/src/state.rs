//! The application life cycle as a checked state machine:
//! `accepted → waiting → submitted → running → finished | failed | stopped`.
//!
//! `waiting` and `submitted` may be skipped; any non-terminal state may end in `failed` or
//! `stopped`; terminal states never change. A record's state can only change through
//! [`Lifecycle::advance`], which rejects every other transition and stamps its time.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub type EpochMs = u64;

/// Now, in epoch milliseconds.
pub fn now_ms() -> EpochMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The state of a Spark application (IBM Analytics Engine v3 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    /// Accepted by the API; not started yet.
    Accepted,
    /// Held back by the instance's quota.
    Waiting,
    /// `spark-submit` has been started by its supervisor.
    Submitted,
    /// The Spark application has registered (it has a Spark application id).
    Running,
    /// Ended with exit status 0.
    Finished,
    /// Ended with a non-zero status (or could not start).
    Failed,
    /// Stopped on request.
    Stopped,
}

impl AppState {
    /// Whether the state is final.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            AppState::Finished | AppState::Failed | AppState::Stopped
        )
    }

    /// Whether an app in this state holds quota (its processes may be running).
    pub fn is_active(self) -> bool {
        matches!(self, AppState::Submitted | AppState::Running)
    }

    /// Whether `self → to` is a legal transition.
    pub fn can_become(self, to: AppState) -> bool {
        use AppState::*;
        match (self, to) {
            (Accepted, Waiting | Submitted) => true,
            (Waiting, Submitted) => true,
            (Submitted, Running) => true,
            (Submitted | Running, Finished) => true,
            (from, Failed | Stopped) => !from.is_terminal(),
            _ => false,
        }
    }

    /// The lowercase API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Accepted => "accepted",
            AppState::Waiting => "waiting",
            AppState::Submitted => "submitted",
            AppState::Running => "running",
            AppState::Finished => "finished",
            AppState::Failed => "failed",
            AppState::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AppState {
    type Err = InvalidTransition;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use AppState::*;
        [
            Accepted, Waiting, Submitted, Running, Finished, Failed, Stopped,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or(InvalidTransition {
            from: Accepted,
            to: Accepted,
        })
    }
}

/// A refused state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal application state transition {from} → {to}")]
pub struct InvalidTransition {
    /// Current state.
    pub from: AppState,
    /// Requested state.
    pub to: AppState,
}

/// The state and the time each state was entered. Fields are private: the only way to change
/// the state is [`Lifecycle::advance`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    state: AppState,
    accepted_at: EpochMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    waiting_at: Option<EpochMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    submitted_at: Option<EpochMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    running_at: Option<EpochMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended_at: Option<EpochMs>,
}

impl Lifecycle {
    /// A new application, accepted at `at`.
    pub fn accepted(at: EpochMs) -> Self {
        Lifecycle {
            state: AppState::Accepted,
            accepted_at: at,
            waiting_at: None,
            submitted_at: None,
            running_at: None,
            ended_at: None,
        }
    }

    /// Move to `to` at time `at`, or refuse an illegal transition.
    pub fn advance(&mut self, to: AppState, at: EpochMs) -> Result<(), InvalidTransition> {
        if !self.state.can_become(to) {
            return Err(InvalidTransition {
                from: self.state,
                to,
            });
        }
        match to {
            AppState::Accepted => {}
            AppState::Waiting => self.waiting_at = Some(at),
            AppState::Submitted => self.submitted_at = Some(at),
            AppState::Running => self.running_at = Some(at),
            AppState::Finished | AppState::Failed | AppState::Stopped => self.ended_at = Some(at),
        }
        self.state = to;
        Ok(())
    }

    /// Current state.
    pub fn state(&self) -> AppState {
        self.state
    }
    /// When the API accepted the app.
    pub fn accepted_at(&self) -> EpochMs {
        self.accepted_at
    }
    /// When the quota held it back.
    pub fn waiting_at(&self) -> Option<EpochMs> {
        self.waiting_at
    }
    /// When spark-submit was started.
    pub fn submitted_at(&self) -> Option<EpochMs> {
        self.submitted_at
    }
    /// When Spark reported the application running.
    pub fn running_at(&self) -> Option<EpochMs> {
        self.running_at
    }
    /// When it reached a terminal state.
    pub fn ended_at(&self) -> Option<EpochMs> {
        self.ended_at
    }
}

#[cfg(test)]
mod tests {
    use super::AppState::*;
    use super::*;

    const ALL: [AppState; 7] = [
        Accepted, Waiting, Submitted, Running, Finished, Failed, Stopped,
    ];

    #[test]
    fn happy_paths() {
        let mut l = Lifecycle::accepted(1);
        l.advance(Waiting, 2).unwrap();
        l.advance(Submitted, 3).unwrap();
        l.advance(Running, 4).unwrap();
        l.advance(Finished, 5).unwrap();
        assert_eq!(l.state(), Finished);
        assert_eq!(
            (
                l.waiting_at(),
                l.submitted_at(),
                l.running_at(),
                l.ended_at()
            ),
            (Some(2), Some(3), Some(4), Some(5))
        );
        let mut l = Lifecycle::accepted(1);
        l.advance(Submitted, 2).unwrap();
        l.advance(Finished, 3).unwrap();
    }

    #[test]
    fn terminal_states_are_final_and_backwards_is_refused() {
        for t in [Finished, Failed, Stopped] {
            for to in ALL {
                assert!(!t.can_become(to), "{t} → {to}");
            }
        }
        assert!(!Running.can_become(Submitted));
        assert!(!Running.can_become(Waiting));
        assert!(!Submitted.can_become(Waiting));
        assert!(!Accepted.can_become(Running));
        assert!(!Accepted.can_become(Finished));
        let mut l = Lifecycle::accepted(1);
        let err = l.advance(Running, 2).unwrap_err();
        assert_eq!(
            err,
            InvalidTransition {
                from: Accepted,
                to: Running
            }
        );
        assert_eq!(l.state(), Accepted);
        assert_eq!(l.running_at(), None);
    }

    #[test]
    fn any_live_state_can_fail_or_stop() {
        for from in [Accepted, Waiting, Submitted, Running] {
            assert!(from.can_become(Failed));
            assert!(from.can_become(Stopped));
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ALL {
            assert_eq!(s.as_str().parse::<AppState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }
}
