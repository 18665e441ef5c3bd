//! [`Id`]: a shared, immutable piece of diagram text (node ids, edge
//! endpoints, subgraph members, labels).
//!
//! A large flowchart names each node many times: as a vertex, as the end of
//! every edge that touches it, as a subgraph member. Giving each mention its
//! own `String` made allocation the parser's largest cost (two thirds of a
//! 10,000-edge chart's 57,000 allocations were copies of ids), so every
//! mention of a vertex shares one reference-counted string. Must not depend
//! on anything else in the crate.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Shared immutable text; cheap to clone, compares and hashes as its `str`.
/// The empty id allocates nothing.
#[derive(Clone, Default)]
pub struct Id(Option<Arc<str>>);

impl Id {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        if s.is_empty() {
            Id(None)
        } else {
            Id(Some(Arc::from(s)))
        }
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id::from(s.as_str())
    }
}

impl From<&String> for Id {
    fn from(s: &String) -> Self {
        Id::from(s.as_str())
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.as_str().to_string()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Id {}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Id {
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Id> for str {
    fn eq(&self, other: &Id) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Id> for &str {
    fn eq(&self, other: &Id) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Id> for String {
    fn eq(&self, other: &Id) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_compare_as_text() {
        let a = Id::from("svc1");
        let b = a.clone();
        assert_eq!(a, b);
        assert_eq!(a, "svc1");
        assert_eq!("svc1", a);
        assert_eq!(a.to_string(), "svc1");
        let (x, y) = (Id::from("a"), Id::from("b"));
        assert!(x < y, "ids order as their text");
        assert_eq!(Id::from(""), Id::default());
        assert_eq!(Id::default().as_str(), "");
    }
}
