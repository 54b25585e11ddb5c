//! The backing services that CI starts (PostgreSQL, Redis, NATS) and where
//! to find them.
//!
//! `.ci/run` starts each service and exports its URL. Each function here
//! reads one of those variables; outside CI an unset (or empty) variable
//! means the documented default on 127.0.0.1. Under CI (the variable `CI`
//! set and not empty) an unset variable panics instead: a run that cannot
//! say where a service is must fail, not skip what needs it.

/// The variable holding PostgreSQL's URL.
pub const POSTGRES_ENV: &str = "NATTER_TEST_POSTGRES_URL";
/// The variable holding Redis's URL.
pub const REDIS_ENV: &str = "NATTER_TEST_REDIS_URL";
/// The variable holding NATS's URL.
pub const NATS_ENV: &str = "NATTER_TEST_NATS_URL";

/// PostgreSQL's URL when [`POSTGRES_ENV`] is unset outside CI.
pub const POSTGRES_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Redis's URL when [`REDIS_ENV`] is unset outside CI.
pub const REDIS_DEFAULT: &str = "redis://127.0.0.1:6379";
/// NATS's URL when [`NATS_ENV`] is unset outside CI.
pub const NATS_DEFAULT: &str = "nats://127.0.0.1:4222";

/// PostgreSQL's URL: `NATTER_TEST_POSTGRES_URL`, else [`POSTGRES_DEFAULT`].
///
/// # Panics
///
/// Under CI when the variable is unset or empty, or when it is not UTF-8.
pub fn postgres_url() -> String {
    url(POSTGRES_ENV, POSTGRES_DEFAULT)
}

/// Redis's URL: `NATTER_TEST_REDIS_URL`, else [`REDIS_DEFAULT`].
///
/// # Panics
///
/// Under CI when the variable is unset or empty, or when it is not UTF-8.
pub fn redis_url() -> String {
    url(REDIS_ENV, REDIS_DEFAULT)
}

/// NATS's URL: `NATTER_TEST_NATS_URL`, else [`NATS_DEFAULT`].
///
/// # Panics
///
/// Under CI when the variable is unset or empty, or when it is not UTF-8.
pub fn nats_url() -> String {
    url(NATS_ENV, NATS_DEFAULT)
}

/// The variable holding the S3-compatible test server's URL.
pub const S3_ENV: &str = "NATTER_TEST_S3_URL";
/// Its URL when [`S3_ENV`] is unset outside CI.
pub const S3_DEFAULT: &str = "http://127.0.0.1:9000";

/// The S3-compatible test server's URL: `NATTER_TEST_S3_URL`, else
/// [`S3_DEFAULT`].
///
/// # Panics
///
/// Under CI when the variable is unset or empty, or when it is not UTF-8.
pub fn s3_url() -> String {
    url(S3_ENV, S3_DEFAULT)
}

/// Creates a fresh bucket on the S3-compatible test server (a plain
/// `PUT`, which the test server takes without credentials) and returns
/// its name.
///
/// # Panics
///
/// When the server does not answer or refuses.
pub async fn s3_bucket() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = s3_url();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let bucket = format!("natter-{}", uuid::Uuid::new_v4().simple());
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("the S3 test server does not answer at {url}: {e}"));
    let req = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.expect("write");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.expect("read");
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "create bucket: {answer}"
    );
    bucket
}

/// True when running under CI: `CI` is set and not empty.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The host and port a service URL points at, for a plain TCP connection:
/// `scheme://[user[:password]@]host[:port][/path][?query]`, with an IPv6
/// host in brackets (returned without them). Without a port, the scheme's
/// usual one (`postgres`/`postgresql` 5432, `redis` 6379, `nats` 4222).
///
/// # Panics
///
/// When the URL has no `scheme://`, no host, a port that is not a number,
/// or no port and a scheme without a usual one. The message shows the URL
/// without its user part, which may hold a password.
pub fn host_port(url: &str) -> (String, u16) {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("service URL without scheme://: {}", redacted(url)));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host_port)| host_port);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .unwrap_or_else(|| panic!("unclosed IPv6 host in {}", redacted(url)));
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    assert!(
        !host.is_empty(),
        "service URL without a host: {}",
        redacted(url)
    );
    let port = match port {
        Some(p) => p
            .parse()
            .unwrap_or_else(|_| panic!("service URL with a bad port: {}", redacted(url))),
        None => match scheme {
            "postgres" | "postgresql" => 5432,
            "redis" => 6379,
            "nats" => 4222,
            _ => panic!("service URL without a port: {}", redacted(url)),
        },
    };
    (host.to_owned(), port)
}

/// `url` reduced to its scheme, host and port, safe to print: the user part
/// and the query may hold a password.
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}")
        }
        None => "(not a URL)".to_owned(),
    }
}

fn url(var: &str, default: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        Ok(_) | Err(std::env::VarError::NotPresent) => {
            assert!(
                !in_ci(),
                "{var} is not set: CI must say where the service is (.ci/run exports it)"
            );
            default.to_owned()
        }
        Err(std::env::VarError::NotUnicode(_)) => panic!("{var} is not UTF-8"),
    }
}
