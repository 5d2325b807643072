//! Identifiers: configuration codes, ticket ids, printed ticket numbers and public tokens.

use std::fmt;

/// Longest configuration code, in bytes. Codes are printed in logs and URLs; long ones help nobody.
pub const CODE_LEN_MAX: usize = 31;

/// A stable identifier from the configuration (site, department, service, counter, official,
/// priority category). Events store codes, not indices, so the event log stays valid when the
/// configuration is reordered. Inline and `Copy`: the hot path never allocates for an id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    len: u8,
    bytes: [u8; CODE_LEN_MAX],
}

/// Why a string is not a valid [`Code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    Empty,
    TooLong { len: usize },
    BadChar { ch: char },
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Empty => write!(f, "a code may not be empty"),
            CodeError::TooLong { len } => {
                write!(
                    f,
                    "a code has at most {CODE_LEN_MAX} characters, this one has {len}"
                )
            }
            CodeError::BadChar { ch } => write!(
                f,
                "a code may use only ASCII letters, digits and . _ - @ (found {ch:?})"
            ),
        }
    }
}

impl std::error::Error for CodeError {}

impl Code {
    pub fn new(s: &str) -> Result<Code, CodeError> {
        if s.is_empty() {
            return Err(CodeError::Empty);
        }
        if s.len() > CODE_LEN_MAX {
            return Err(CodeError::TooLong {
                len: s.chars().count(),
            });
        }
        if let Some(ch) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
        {
            return Err(CodeError::BadChar { ch });
        }
        let mut bytes = [0u8; CODE_LEN_MAX];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Code {
            len: s.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`).
        std::str::from_utf8(&self.bytes[..self.len as usize]).expect("code is ASCII")
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A [`Code`] kept as a reference to one shared copy: 8 bytes (and `Option<Sym>` too) where a
/// `Code` takes 32. Tickets hold five codes each and the broker holds every ticket of the day
/// twice, so this is most of a ticket's size.
///
/// Only codes a ticket stores are interned, and a ticket stores only codes the configuration or
/// an account already has (its service, priority category, counters, official): the table is as
/// small as those, whatever clients send. It lives as long as the process.
#[derive(Clone, Copy)]
pub struct Sym(&'static Code);

fn interned() -> &'static std::sync::Mutex<std::collections::HashSet<&'static Code>> {
    static TABLE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<&'static Code>>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(Default::default)
}

impl Sym {
    pub fn new(code: Code) -> Sym {
        let mut table = interned().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&c) = table.get(&code) {
            return Sym(c);
        }
        let c: &'static Code = Box::leak(Box::new(code));
        table.insert(c);
        Sym(c)
    }

    pub fn code(self) -> Code {
        *self.0
    }
}

impl From<Code> for Sym {
    fn from(code: Code) -> Sym {
        Sym::new(code)
    }
}

impl std::ops::Deref for Sym {
    type Target = Code;
    fn deref(&self) -> &Code {
        self.0
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Sym {}

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}

impl PartialEq<Code> for Sym {
    fn eq(&self, other: &Code) -> bool {
        self.0 == other
    }
}

impl PartialEq<Sym> for Code {
    fn eq(&self, other: &Sym) -> bool {
        self == other.0
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// Longest ticket prefix. Centers use one letter; three leave room for sub-queues ("KQ").
pub const PREFIX_LEN_MAX: usize = 3;

/// The letters in front of a ticket number: `B` in `B017`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    len: u8,
    bytes: [u8; PREFIX_LEN_MAX],
}

impl Prefix {
    /// One to three uppercase ASCII letters.
    pub fn new(s: &str) -> Option<Prefix> {
        if s.is_empty() || s.len() > PREFIX_LEN_MAX || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut bytes = [0u8; PREFIX_LEN_MAX];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Prefix {
            len: s.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).expect("prefix is ASCII")
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Highest sequence number one prefix can reach in a day; the printed form grows to four digits
/// past 999, and nothing beyond 9999 fits a ticket.
pub const TICKET_SEQ_MAX: u16 = 9999;

/// The number a citizen holds on paper: `B017`. Unique per site, day and prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber {
    pub prefix: Prefix,
    pub seq: u16,
}

impl TicketNumber {
    /// Parses `B017`, `b17` or `B1000`.
    pub fn parse(s: &str) -> Option<TicketNumber> {
        let s = s.trim();
        let split = s.find(|c: char| c.is_ascii_digit())?;
        let prefix = Prefix::new(&s[..split].to_ascii_uppercase())?;
        let digits = &s[split..];
        if digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seq: u16 = digits.parse().ok()?;
        (1..=TICKET_SEQ_MAX)
            .contains(&seq)
            .then_some(TicketNumber { prefix, seq })
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:03}", self.prefix, self.seq)
    }
}

impl fmt::Debug for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Internal ticket identity, assigned in issue order and never reused within a site.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TicketId(pub u64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The unguessable token in a ticket's QR code (128 random bits, made by the server: the core
/// has no randomness). The phone page sees one ticket by it and nothing else.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub [u8; 16]);

impl Token {
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(char::from_digit((b >> 4) as u32, 16).expect("nibble"));
            s.push(char::from_digit((b & 15) as u32, 16).expect("nibble"));
        }
        s
    }

    pub fn from_hex(s: &str) -> Option<Token> {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = (chunk[0] as char).to_digit(16)?;
            let lo = (chunk[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Token(out))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are secrets: logs get a short prefix only.
        write!(f, "Token({}…)", &self.to_hex()[..6])
    }
}

/// A person's identity for per-person issuing limits, as a keyed hash made by the server from the
/// ID card number: the core never holds the number itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PersonKey(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_accept_ascii_and_reject_the_rest() {
        assert_eq!(Code::new("khai-sinh").unwrap().as_str(), "khai-sinh");
        assert_eq!(Code::new(""), Err(CodeError::Empty));
        assert_eq!(Code::new("khai sinh"), Err(CodeError::BadChar { ch: ' ' }));
        assert_eq!(Code::new("hộ-tịch"), Err(CodeError::BadChar { ch: 'ộ' }));
        assert!(matches!(
            Code::new(&"x".repeat(32)),
            Err(CodeError::TooLong { len: 32 })
        ));
    }

    #[test]
    fn ticket_numbers_print_and_parse() {
        let n = TicketNumber::parse("b17").unwrap();
        assert_eq!(n.to_string(), "B017");
        assert_eq!(TicketNumber::parse("B1000").unwrap().to_string(), "B1000");
        assert_eq!(TicketNumber::parse("KQ005").unwrap().to_string(), "KQ005");
        assert!(TicketNumber::parse("B000").is_none());
        assert!(TicketNumber::parse("017").is_none());
        assert!(TicketNumber::parse("B12345").is_none());
        assert!(TicketNumber::parse("ABCD1").is_none());
    }

    #[test]
    fn tokens_round_trip_through_hex() {
        let t = Token([0xab; 16]);
        assert_eq!(Token::from_hex(&t.to_hex()), Some(t));
        assert!(Token::from_hex("zz").is_none());
        assert!(!format!("{t:?}").contains(&t.to_hex()));
    }
}
