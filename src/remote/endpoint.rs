//! Spark Connect endpoints: `sc://host[:port][/;param=value;…]`, as the Spark Connect clients
//! write them. Parameters: `token` (a bearer token, which implies TLS), `use_ssl`, `user_id`,
//! `user_agent` and `session_id`; the port defaults to 15002.

use std::fmt;

use crate::error::{Error, Result};

/// The default Spark Connect port.
pub const DEFAULT_PORT: u16 = 15002;

/// A parsed Spark Connect endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// gRPC port.
    pub port: u16,
    /// Connect with TLS.
    pub use_ssl: bool,
    /// Bearer token sent with every call.
    pub token: Option<String>,
    /// The user the server sees (default: `$USER`).
    pub user_id: Option<String>,
    /// Extra text for the user agent.
    pub user_agent: Option<String>,
    /// A session to join (a UUID); a new one otherwise.
    pub session_id: Option<String>,
}

impl Endpoint {
    /// Parses `sc://host:port/;token=…;use_ssl=true`.
    pub fn parse(text: &str) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::InvalidInput(format!(
                "invalid Spark Connect endpoint '{text}': {why} (expected sc://host:port, e.g. sc://localhost:15002)"
            ))
        };
        let rest = text
            .trim()
            .strip_prefix("sc://")
            .ok_or_else(|| bad("it must start with sc://"))?;
        let (authority, params) = match rest.split_once('/') {
            Some((a, p)) => (a, p),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad(&format!("port '{p}' is not a number")))?,
            ),
            _ => (authority, DEFAULT_PORT),
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        let mut endpoint = Endpoint {
            host: host.to_string(),
            port,
            use_ssl: false,
            token: None,
            user_id: None,
            user_agent: None,
            session_id: None,
        };
        for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = param
                .split_once('=')
                .ok_or_else(|| bad(&format!("parameter '{param}' has no value")))?;
            match key.to_ascii_lowercase().as_str() {
                "token" => {
                    endpoint.token = Some(value.to_string());
                    endpoint.use_ssl = true;
                }
                "use_ssl" => endpoint.use_ssl = value.eq_ignore_ascii_case("true"),
                "user_id" => endpoint.user_id = Some(value.to_string()),
                "user_agent" => endpoint.user_agent = Some(value.to_string()),
                "session_id" => endpoint.session_id = Some(value.to_string()),
                other => return Err(bad(&format!("unknown parameter '{other}'"))),
            }
        }
        Ok(endpoint)
    }

    /// The URL gRPC connects to.
    pub fn url(&self) -> String {
        format!(
            "{}://{}:{}",
            if self.use_ssl { "https" } else { "http" },
            self.host,
            self.port
        )
    }
}

/// Prints as `sc://host:port` (never the token).
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sc://{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self}, tls={})", self.use_ssl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_like_spark_connect_clients() {
        let e = Endpoint::parse("sc://localhost").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.use_ssl), ("localhost", 15002, false));
        let e = Endpoint::parse("sc://spark.example.com:443/;token=abc;user_id=ana").unwrap();
        assert_eq!(e.port, 443);
        assert!(e.use_ssl, "a token implies TLS");
        assert_eq!(e.token.as_deref(), Some("abc"));
        assert_eq!(e.user_id.as_deref(), Some("ana"));
        assert_eq!(e.to_string(), "sc://spark.example.com:443");
        assert_eq!(e.url(), "https://spark.example.com:443");
    }

    #[test]
    fn bad_endpoints_say_what_is_wrong() {
        let err = Endpoint::parse("http://x:1").unwrap_err().to_string();
        assert!(err.contains("must start with sc://"), "{err}");
        let err = Endpoint::parse("sc://x:port").unwrap_err().to_string();
        assert!(err.contains("port 'port' is not a number"), "{err}");
        let err = Endpoint::parse("sc://x:1/;colour=red").unwrap_err().to_string();
        assert!(err.contains("unknown parameter 'colour'"), "{err}");
    }
}
