//! Whether this run can still prove it holds its lock. As client-go's leader election does
//! (tools/leaderelection/leaderelection.go: a leader that has not renewed within its
//! `RenewDeadline` stops leading, and only locally measured time counts), a holder trusts
//! its lock for [`RENEW_DEADLINE`] after the last renewal that succeeded, measured from when
//! that renewal was sent, on this machine's clocks; the lease itself lasts longer
//! ([`super::lock::LEASE_SECONDS`]), so the holder stops before anyone else may take over.
//!
//! Both the monotonic clock and the wall clock are read, and the later one counts: the
//! monotonic clock does not advance while a machine is suspended, which is exactly when a
//! lock is lost without the holder noticing. A wall clock set forward only makes the
//! holder stop early.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

/// How long a holder trusts its lock after the last renewal that succeeded.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(20);

/// When a renewal was sent, on both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Instants {
    monotonic: Instant,
    wall: SystemTime,
}

impl Instants {
    /// Now.
    pub fn now() -> Self {
        Self {
            monotonic: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// How long ago `self` was at `now`, by the clock that says longer.
    fn elapsed_at(self, now: Self) -> Duration {
        let monotonic = now.monotonic.saturating_duration_since(self.monotonic);
        let wall = now.wall.duration_since(self.wall).unwrap_or_default();
        monotonic.max(wall)
    }
}

/// Why a run no longer holds its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loss {
    /// Another run holds the Lease now.
    TakenOver {
        /// Its holder.
        by: String,
    },
    /// The Lease is gone.
    Deleted,
    /// No renewal succeeded within [`RENEW_DEADLINE`].
    NotRenewed {
        /// Seconds since the last renewal that succeeded.
        seconds: u64,
        /// What the last attempt met, if one failed.
        last_error: Option<String>,
    },
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TakenOver { by } => write!(f, "{by} took it over"),
            Self::Deleted => f.write_str("its Lease was deleted by someone else"),
            Self::NotRenewed {
                seconds,
                last_error: Some(error),
            } => write!(
                f,
                "it was not renewed for {seconds}s (last attempt: {error})"
            ),
            Self::NotRenewed {
                seconds,
                last_error: None,
            } => write!(
                f,
                "it was not renewed for {seconds}s (was this machine suspended or this process stopped?)"
            ),
        }
    }
}

/// A held lock's standing, shared by the renewal task and every write.
#[derive(Debug)]
pub struct Tenure {
    /// The Lease's name.
    name: String,
    state: Mutex<State>,
    /// Cancelled once the lock is lost (or the run is interrupted), to stop the run's waits.
    stop: CancellationToken,
}

#[derive(Debug)]
struct State {
    renewed: Instants,
    last_error: Option<String>,
    loss: Option<Loss>,
}

impl Tenure {
    /// The Lease `name`, taken by a request sent at `sent`; `stop` is cancelled once it is
    /// lost.
    pub fn new(name: &str, sent: Instants, stop: CancellationToken) -> Self {
        Self {
            name: name.to_owned(),
            state: Mutex::new(State {
                renewed: sent,
                last_error: None,
                loss: None,
            }),
            stop,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The Lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lock is still held now.
    pub fn check(&self) -> Result<(), Loss> {
        self.check_at(Instants::now())
    }

    /// Whether the lock is still held at `now`.
    pub fn check_at(&self, now: Instants) -> Result<(), Loss> {
        let mut state = self.state();
        if let Some(loss) = &state.loss {
            return Err(loss.clone());
        }
        let elapsed = state.renewed.elapsed_at(now);
        if elapsed < RENEW_DEADLINE {
            return Ok(());
        }
        let loss = Loss::NotRenewed {
            seconds: elapsed.as_secs(),
            last_error: state.last_error.clone(),
        };
        state.loss = Some(loss.clone());
        drop(state);
        self.stop.cancel();
        Err(loss)
    }

    /// How long until the deadline, at most `pause`.
    pub fn within_deadline(&self, pause: Duration) -> Duration {
        let elapsed = self.state().renewed.elapsed_at(Instants::now());
        RENEW_DEADLINE.saturating_sub(elapsed).min(pause)
    }

    /// A renewal sent at `sent` succeeded.
    pub fn renewed(&self, sent: Instants) {
        let mut state = self.state();
        if state.loss.is_none() {
            state.renewed = sent;
            state.last_error = None;
        }
    }

    /// A renewal failed with `error`; the deadline still stands.
    pub fn failed(&self, error: String) {
        self.state().last_error = Some(error);
    }

    /// The lock is lost for `loss`.
    pub fn lose(&self, loss: Loss) {
        let mut state = self.state();
        if state.loss.is_none() {
            state.loss = Some(loss);
        }
        drop(state);
        self.stop.cancel();
    }

    /// Why the lock was lost, if it was.
    pub fn loss(&self) -> Option<Loss> {
        self.state().loss.clone()
    }

    /// The token cancelled when the lock is lost or the run interrupted.
    pub fn stop(&self) -> &CancellationToken {
        &self.stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instants, seconds: u64) -> Instants {
        Instants {
            monotonic: base.monotonic + Duration::from_secs(seconds),
            wall: base.wall + Duration::from_secs(seconds),
        }
    }

    #[test]
    fn a_lock_is_trusted_until_the_renew_deadline_and_lost_after() {
        let start = Instants::now();
        let tenure = Tenure::new("l", start, CancellationToken::new());
        assert_eq!(tenure.check_at(at(start, 19)), Ok(()));
        tenure.renewed(at(start, 15));
        assert_eq!(tenure.check_at(at(start, 34)), Ok(()));
        tenure.failed("no answer from the API server: connection reset".into());
        let lost = tenure.check_at(at(start, 35)).unwrap_err();
        assert_eq!(
            lost.to_string(),
            "it was not renewed for 20s (last attempt: no answer from the API server: connection reset)"
        );
        assert!(tenure.stop().is_cancelled());
        // Lost for good: a late renewal does not bring it back.
        tenure.renewed(at(start, 36));
        assert_eq!(tenure.check_at(at(start, 36)), Err(lost));
    }

    #[test]
    fn time_spent_suspended_counts_though_the_monotonic_clock_stood_still() {
        let start = Instants::now();
        let tenure = Tenure::new("l", start, CancellationToken::new());
        let woken = Instants {
            monotonic: start.monotonic + Duration::from_secs(1),
            wall: start.wall + Duration::from_secs(45),
        };
        assert!(matches!(
            tenure.check_at(woken),
            Err(Loss::NotRenewed { seconds: 45, .. })
        ));
    }

    #[test]
    fn a_takeover_is_a_loss_at_once() {
        let tenure = Tenure::new("l", Instants::now(), CancellationToken::new());
        tenure.lose(Loss::TakenOver {
            by: "carol@ci pid 9 (teardown)".into(),
        });
        assert_eq!(
            tenure.check().unwrap_err().to_string(),
            "carol@ci pid 9 (teardown) took it over"
        );
    }
}
