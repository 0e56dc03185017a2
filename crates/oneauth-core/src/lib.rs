//! OneAuth's shared vocabulary: the error enum and its numeric codes, the
//! clock, and the configuration types. No I/O and no HTTP types live here.

pub mod clock;
pub mod config;
pub mod error;
pub mod net;
pub mod secret;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use error::{Error, ErrorCode, Result};
pub use secret::SecretString;
