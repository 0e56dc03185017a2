//! The domain's budget rules: an address's send budget ([`SendRule`]) and
//! its code-guess budget ([`GuessRule`]), as pure functions of the stored
//! budget and `now`; [`super::Limits::spend`] applies them.

use oneauth_core::Error;
use oneauth_core::config::Codes as CodesConfig;
use oneauth_store::Budget;

const HOUR: i64 = 3600;

/// An address's send budget: at most `per_hour` messages of every kind
/// together in an hour-long window that starts at its first message (so
/// at most twice that in any sliding hour), and a cool-down between two
/// messages of one kind (a login code right after a verification code is
/// the normal way of a new account; a second login code at once is a
/// resend). 0 turns either off.
#[derive(Debug, Clone, Copy)]
pub struct SendRule {
    pub cooldown_secs: i64,
    pub per_hour: i64,
}

impl SendRule {
    pub fn from_config(c: &CodesConfig) -> Self {
        Self {
            cooldown_secs: c.resend_cooldown_secs as i64,
            per_hour: i64::from(c.per_address_per_hour),
        }
    }

    /// The cool-down of one kind of message after one more at `now`, or
    /// the wait.
    pub fn cool_down(&self, b: Option<&Budget>, now: i64) -> Result<Budget, Error> {
        if let Some(b) = b {
            let wait = b.last_at + self.cooldown_secs - now;
            if wait > 0 {
                return Err(Error::RateLimited {
                    retry_after_secs: wait as u64,
                });
            }
        }
        Ok(Budget {
            count: 1,
            window_start: now,
            last_at: now,
            locked_until: 0,
            expires_at: now + self.cooldown_secs,
        })
    }

    /// The hourly budget of every kind after one more message at `now`,
    /// or the wait.
    pub fn spend(&self, b: Option<&Budget>, now: i64) -> Result<Budget, Error> {
        let (count, start) = match b {
            Some(b) if now < b.window_start + HOUR => (b.count, b.window_start),
            _ => (0, now),
        };
        if self.per_hour > 0 && count >= self.per_hour {
            return Err(Error::RateLimited {
                retry_after_secs: (start + HOUR - now).max(1) as u64,
            });
        }
        Ok(Budget {
            count: count + 1,
            window_start: start,
            last_at: now,
            locked_until: 0,
            expires_at: start + HOUR,
        })
    }
}

/// An address's budget of code guesses, over every purpose (login,
/// verification, recovery): after every `per_run`-th guess it is locked
/// out, `base_secs` the first time and twice as long each further time, up
/// to `max_secs`; guesses are remembered for `memory_secs` from the first.
///
/// A guess is charged before its code is compared, so concurrent guesses
/// cannot slip past a lock-out, and a correct one is refunded — only its
/// own charge: the wrong guesses before it stay, or an attacker would get
/// a fresh budget each time the owner logs in.
///
/// The bound ([`GuessRule::max_guesses`]): guessing whenever allowed,
/// which is the best an attacker can do, the defaults (5 guesses a run,
/// 1 minute doubling to at most a day, a week's memory) allow 55 guesses
/// in the first 17 hours, 5 more at 34 hours and 5 a day after that, until
/// the last lock-out of the week ends (at 7.4 days): 85 a cycle, 385 in 30
/// days — a 385 × 10⁻⁶ = 0.0385 % chance at a six-digit code (an account
/// with an email and a phone: 0.077 %). Start-up refuses settings that
/// allow 1000 or more a month (a 0.1 % chance).
#[derive(Debug, Clone, Copy)]
pub struct GuessRule {
    pub per_run: i64,
    pub base_secs: i64,
    pub max_secs: i64,
    pub memory_secs: i64,
}

impl GuessRule {
    pub fn from_config(c: &CodesConfig) -> Self {
        Self {
            per_run: i64::from(c.failures_before_lockout.max(1)),
            base_secs: c.lockout_base_secs.max(1) as i64,
            max_secs: c.lockout_max_secs.max(1) as i64,
            memory_secs: c.failure_memory_secs as i64,
        }
    }

    /// The `run`-th lock-out (from 1).
    fn lockout(&self, run: i64) -> i64 {
        self.base_secs
            .saturating_mul(1 << (run - 1).clamp(0, 40))
            .min(self.max_secs)
    }

    /// The budget after one more guess at `now`, or the lock-out's rest.
    pub fn charge(&self, b: Option<&Budget>, now: i64) -> Result<Budget, Error> {
        if let Some(b) = b
            && b.locked_until > now
        {
            return Err(Error::RateLimited {
                retry_after_secs: (b.locked_until - now) as u64,
            });
        }
        let (count, start) = match b {
            Some(b) if now < b.window_start + self.memory_secs => (b.count + 1, b.window_start),
            _ => (1, now),
        };
        let locked_until = if count % self.per_run == 0 {
            now + self.lockout(count / self.per_run)
        } else {
            0
        };
        Ok(Budget {
            count,
            window_start: start,
            last_at: now,
            locked_until,
            expires_at: (start + self.memory_secs).max(locked_until),
        })
    }

    /// `b` with the guess that made `charged` taken back: it was right.
    pub fn refund(&self, b: Option<&Budget>, charged: &Budget) -> Budget {
        let mut b = b.copied().unwrap_or_default();
        if b.window_start == charged.window_start && b.count > 0 {
            b.count -= 1;
            if charged.locked_until > 0 && b.locked_until == charged.locked_until {
                b.locked_until = 0;
            }
        }
        b
    }

    /// The most guesses one address allows in `period` seconds: those of
    /// an attacker guessing whenever allowed.
    pub fn max_guesses(&self, period: i64) -> i64 {
        let (mut budget, mut t, mut n) = (None, 0, 0);
        while t < period {
            match self.charge(budget.as_ref(), t) {
                Ok(next) => {
                    budget = Some(next);
                    n += 1;
                }
                Err(_) => t = budget.map_or(t + 1, |b| b.locked_until),
            }
        }
        n
    }
}
