//! Who is asking: one random token per reviewer (256 bits from the operating system, shown
//! once in the URLs the server prints, as Jupyter does), compared in constant time; and the
//! checks that keep other web sites out: a state-changing request must come from the
//! server's own pages (`Origin` equal to the page's origin, not a cross-site fetch), and on a
//! loopback address the `Host` must be a loopback name (no DNS rebinding).

use std::net::SocketAddr;

use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;

use crate::error::{OversightError, Result};

/// A fresh random token: 32 bytes from the operating system, as 64 hex digits.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| OversightError::invalid("token", format!("no system randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The reviewers and their tokens.
#[derive(Debug)]
pub struct Reviewers {
    entries: Vec<(String, String)>,
}

impl Reviewers {
    /// A fresh token for each name.
    pub fn generate(names: &[String]) -> Result<Self> {
        let entries = names
            .iter()
            .map(|n| Ok((n.clone(), new_token()?)))
            .collect::<Result<_>>()?;
        Ok(Self { entries })
    }

    /// The reviewer whose token this is. Every token is compared, each in constant time, so
    /// the time taken does not tell how much of a guess was right.
    pub fn lookup(&self, token: &str) -> Option<&str> {
        let mut found = None;
        for (name, t) in &self.entries {
            if bool::from(t.as_bytes().ct_eq(token.as_bytes())) {
                found = Some(name.as_str());
            }
        }
        found
    }

    /// `(name, token)` in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, t)| (n.as_str(), t.as_str()))
    }

    /// The names, in the order given.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// Whether a `Host` header is acceptable for a server listening on `listen`: any host on a
/// non-loopback address (reviewers reach it by the machine's name), else `localhost`,
/// `127.0.0.1` or `[::1]` with the listening port.
pub fn host_allowed(host: Option<&str>, listen: SocketAddr) -> bool {
    if !listen.ip().is_loopback() {
        return true;
    }
    let Some(host) = host else {
        return false;
    };
    let port = listen.port();
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")))
}

/// Whether a state-changing request may come from where it says: a browser's cross-site
/// request (`Sec-Fetch-Site: cross-site`) never; an `Origin` only when it is the origin of the
/// page it was sent to (`http://` + the `Host`); no `Origin` at all only from a non-browser
/// client (browsers always send it on POST), which needs the token like everyone else.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, fetch_site: Option<&str>) -> bool {
    if fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return false;
    }
    match (origin, host) {
        (None, _) => true,
        (Some(o), Some(h)) => o.eq_ignore_ascii_case(&format!("http://{h}")),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_looked_up_exactly() {
        let r = Reviewers::generate(&["ann".into(), "bob".into()]).unwrap();
        let tokens: Vec<String> = r.iter().map(|(_, t)| t.to_string()).collect();
        assert_eq!(tokens[0].len(), 64);
        assert_ne!(tokens[0], tokens[1]);
        assert_eq!(r.lookup(&tokens[1]), Some("bob"));
        assert_eq!(r.lookup(&tokens[0][..63]), None, "a prefix is no token");
        assert_eq!(r.lookup(""), None);
        let mut wrong = tokens[0].clone().into_bytes();
        wrong[10] ^= 1;
        assert_eq!(r.lookup(&String::from_utf8(wrong).unwrap()), None);
    }

    #[test]
    fn origins_and_hosts() {
        let local: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        assert!(host_allowed(Some("127.0.0.1:8787"), local));
        assert!(host_allowed(Some("LOCALHOST:8787"), local));
        assert!(!host_allowed(Some("evil.example:8787"), local), "rebinding");
        assert!(!host_allowed(Some("127.0.0.1:9999"), local));
        assert!(!host_allowed(None, local));
        assert!(host_allowed(
            Some("reviews.lan:8787"),
            "0.0.0.0:8787".parse().unwrap()
        ));
        let h = Some("127.0.0.1:8787");
        assert!(origin_allowed(
            Some("http://127.0.0.1:8787"),
            h,
            Some("same-origin")
        ));
        assert!(origin_allowed(None, h, None), "curl with the token");
        assert!(!origin_allowed(Some("http://evil.example"), h, None));
        assert!(!origin_allowed(Some("null"), h, None));
        assert!(!origin_allowed(None, h, Some("cross-site")));
    }
}
