//! Which tools change state: an operator's exact list, or a verb test on the
//! tool's name.
//!
//! A name is split into words at `_`, `-`, `.`, `/`, `:`, spaces and
//! camelCase humps (`cancelReservation`, `ticket.create`, `HTTPReset` ->
//! `http`, `reset`). It changes state when one of its words is a
//! state-changing verb and none is a read-only verb: `get_order` and
//! `lookup_booking` read even though "order" and "book" are verbs too. A
//! hand-over to a person (`transfer_to_human`, `escalateToAgent`: a word of
//! [`HAND_OVER_WORDS`]) changes who answers, not the user's data, and is not
//! an action to confirm: whether it was needed is for ratings to tell
//! (`outcome-drivers`). Names
//! are English in practice, so the verbs are; an operator replaces them with
//! `state_changing_verbs` or names the tools outright with
//! `state_changing_tools`.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::text::WordMap;

/// Verbs that, as a word of a tool's name, say the tool changes something.
pub const DEFAULT_VERBS: &[&str] = &[
    "accept",
    "activate",
    "add",
    "approve",
    "archive",
    "assign",
    "attach",
    "ban",
    "block",
    "book",
    "buy",
    "cancel",
    "change",
    "charge",
    "clear",
    "close",
    "confirm",
    "create",
    "credit",
    "deactivate",
    "debit",
    "decline",
    "delete",
    "deny",
    "deposit",
    "detach",
    "disable",
    "dispatch",
    "downgrade",
    "edit",
    "enable",
    "erase",
    "escalate",
    "exchange",
    "extend",
    "grant",
    "insert",
    "invite",
    "issue",
    "lock",
    "mark",
    "merge",
    "modify",
    "move",
    "open",
    "order",
    "pay",
    "post",
    "publish",
    "purchase",
    "rebook",
    "redeem",
    "refund",
    "register",
    "reject",
    "remove",
    "rename",
    "renew",
    "replace",
    "reschedule",
    "reserve",
    "reset",
    "restore",
    "revoke",
    "save",
    "schedule",
    "send",
    "set",
    "ship",
    "submit",
    "subscribe",
    "suspend",
    "terminate",
    "toggle",
    "transfer",
    "unblock",
    "unlock",
    "unsubscribe",
    "update",
    "upgrade",
    "upload",
    "upsert",
    "void",
    "withdraw",
    "write",
];

/// Verbs that make a tool read-only whatever else its name holds.
pub const READ_ONLY_VERBS: &[&str] = &[
    "browse",
    "calculate",
    "check",
    "compute",
    "count",
    "describe",
    "estimate",
    "fetch",
    "find",
    "get",
    "inspect",
    "list",
    "look",
    "lookup",
    "preview",
    "query",
    "read",
    "retrieve",
    "search",
    "show",
    "track",
    "validate",
    "verify",
    "view",
];

/// Words of a tool's name that make it a hand-over to a person, which no
/// verb makes state-changing.
pub const HAND_OVER_WORDS: &[&str] = &[
    "human",
    "humans",
    "agent",
    "agents",
    "operator",
    "person",
    "representative",
    "staff",
    "handoff",
    "handover",
];

/// The words of a name, as slices of it, in order (not lowercased: compare
/// with [`str::eq_ignore_ascii_case`]).
pub fn words(name: &str) -> impl Iterator<Item = &str> {
    let bytes = name.as_bytes();
    let mut start = 0;
    let mut at = 0;
    std::iter::from_fn(move || {
        while at <= bytes.len() {
            let i = at;
            at += 1;
            let boundary = i == bytes.len() || is_separator(bytes[i]);
            // A hump: `aB` starts a word at `B`; `ABc` starts one at `B`.
            let hump = !boundary
                && i > start
                && bytes[i].is_ascii_uppercase()
                && (bytes[i - 1].is_ascii_lowercase()
                    || bytes[i - 1].is_ascii_digit()
                    || (bytes[i - 1].is_ascii_uppercase()
                        && bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase)));
            if boundary || hump {
                let word = &name[start..i];
                start = if boundary { i + 1 } else { i };
                if !word.is_empty() {
                    return Some(word);
                }
            }
        }
        None
    })
}

fn is_separator(byte: u8) -> bool {
    matches!(byte, b'_' | b'-' | b'.' | b'/' | b':' | b' ')
}

/// How a tool is recognised as state-changing.
#[derive(Debug, Clone)]
pub enum ToolTest {
    /// Exactly these tool names (`state_changing_tools`).
    Named(Vec<String>),
    /// A word of the name is one of these verbs (lowercase) and none is
    /// read-only. A table rather than a list: every call of every
    /// interaction is tested, most against a hundred verbs.
    Verbs(WordMap<()>),
}

impl Default for ToolTest {
    fn default() -> Self {
        ToolTest::verbs(DEFAULT_VERBS.iter().copied())
    }
}

/// [`READ_ONLY_VERBS`] as a table, built once.
fn read_only() -> &'static WordMap<()> {
    static READ_ONLY: OnceLock<WordMap<()>> = OnceLock::new();
    READ_ONLY.get_or_init(|| WordMap::new(READ_ONLY_VERBS.iter().map(|v| (*v, ()))))
}

impl ToolTest {
    /// The verb test with these verbs (lowercase).
    pub fn verbs<'a>(verbs: impl IntoIterator<Item = &'a str>) -> Self {
        ToolTest::Verbs(WordMap::new(verbs.into_iter().map(|v| (v, ()))))
    }

    /// Does a call to `name` change state?
    pub fn changes_state(&self, name: &str) -> bool {
        match self {
            ToolTest::Named(names) => names.iter().any(|n| n == name),
            ToolTest::Verbs(verbs) => {
                let mut acts = false;
                for word in words(name) {
                    // Most names are lowercase already: no copy for them.
                    let word: Cow<'_, str> = if word.bytes().any(|b| b.is_ascii_uppercase()) {
                        Cow::Owned(word.to_ascii_lowercase())
                    } else {
                        Cow::Borrowed(word)
                    };
                    if read_only().contains(&word) || HAND_OVER_WORDS.contains(&word.as_ref()) {
                        return false;
                    }
                    acts = acts || verbs.contains(&word);
                }
                acts
            }
        }
    }
}

/// A comma-separated setting as its trimmed, non-empty entries.
pub fn list_setting(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_separators_and_camel_humps() {
        fn split(n: &str) -> Vec<&str> {
            words(n).collect()
        }
        assert_eq!(split("cancel_reservation"), ["cancel", "reservation"]);
        assert_eq!(split("cancelReservation"), ["cancel", "Reservation"]);
        assert_eq!(split("ticket.create"), ["ticket", "create"]);
        assert_eq!(split("unlock-account"), ["unlock", "account"]);
        assert_eq!(split("HTTPReset"), ["HTTP", "Reset"]);
        assert_eq!(split("v2Update__x"), ["v2", "Update", "x"]);
        assert_eq!(split(""), Vec::<&str>::new());
    }

    #[test]
    fn verbs_are_whole_words_and_read_only_verbs_win() {
        let test = ToolTest::default();
        for acting in [
            "cancel_reservation",
            "resetPassword",
            "ticket.create",
            "order_hardware",
            "send-certificate",
            "UnlockAccount",
        ] {
            assert!(test.changes_state(acting), "{acting}");
        }
        for reading in [
            "lookup_order",
            "get_reservation_details",
            "search_products",
            "check_inventory",
            "listBookings",
            "calculate",
            "preset_colours",
            "bookmarks",
            "track_shipment",
            "transfer_to_human",
            "escalateToAgent",
        ] {
            assert!(!test.changes_state(reading), "{reading}");
        }
    }
}
