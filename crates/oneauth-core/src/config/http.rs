//! Where the listeners bind and how each treats its connections.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listen {
    /// Public listener: OAuth2/OIDC and the identity API.
    pub public: SocketAddr,
    /// Login UI listener.
    pub ui: SocketAddr,
    /// Admin listener (clients, identities, keys).
    pub admin: SocketAddr,
}

/// How each of the three listeners treats connections and requests, so
/// that slow or idle clients cannot hold its connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// A request's headers must be in within this many seconds of their
    /// first byte (or of connecting, for a connection's first request);
    /// else the connection is closed.
    pub header_read_timeout_secs: u64,
    /// A keep-alive connection that sends nothing for this many seconds
    /// after an answer is closed. Behind a load balancer that reuses idle
    /// connections, keep its idle timeout below this (AWS ALB: 60 s).
    pub idle_timeout_secs: u64,
    /// A request's body must be in within this many seconds of its headers
    /// (bodies are at most `body_limit_bytes`); else 408.
    pub body_read_timeout_secs: u64,
    /// A request, body and handling, must be answered within this many
    /// seconds; else 408.
    pub request_timeout_secs: u64,
    /// Open connections per listener at most; more wait in the kernel's
    /// accept queue until one closes. 0: derived from the open-file limit
    /// (a third of it, less a reserve for the database and files, at most
    /// 10 000).
    pub max_connections: usize,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            public: ([0, 0, 0, 0], 8080).into(),
            ui: ([0, 0, 0, 0], 8081).into(),
            admin: ([127, 0, 0, 1], 8082).into(),
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
            idle_timeout_secs: 75,
            body_read_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 0,
        }
    }
}

impl Http {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.header_read_timeout_secs == 0
            || self.idle_timeout_secs == 0
            || self.body_read_timeout_secs == 0
            || self.request_timeout_secs == 0
        {
            return Err("http.*_timeout_secs must be positive".into());
        }
        if self.max_connections > 1_000_000 {
            return Err("http.max_connections must be at most 1000000".into());
        }
        Ok(())
    }

    /// Connections per listener: `max_connections`, or with 0 a share of
    /// `open_files` (the soft `RLIMIT_NOFILE`): the three listeners split
    /// it after 256 descriptors kept for the database, the log, the
    /// courier and the runtime, so a flood of connections on one listener
    /// cannot starve the others or the database of descriptors.
    pub fn connections_per_listener(&self, open_files: u64) -> usize {
        const RESERVED: u64 = 256;
        const CEILING: u64 = 10_000;
        const FLOOR: u64 = 16;
        match self.max_connections {
            0 => (open_files.saturating_sub(RESERVED) / 3).clamp(FLOOR, CEILING) as usize,
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Http;

    #[test]
    fn connections_per_listener_follow_the_open_file_limit() {
        let auto = Http::default();
        // systemd's default soft limit: (1024 - 256) / 3.
        assert_eq!(auto.connections_per_listener(1024), 256);
        assert_eq!(auto.connections_per_listener(1 << 20), 10_000);
        assert_eq!(auto.connections_per_listener(u64::MAX), 10_000);
        assert_eq!(auto.connections_per_listener(100), 16);
        let set = Http {
            max_connections: 50,
            ..Http::default()
        };
        assert_eq!(set.connections_per_listener(1024), 50);
    }
}
