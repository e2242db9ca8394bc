//! Jepsen-style histories of register operations (invoke, then ok / fail / info), saved as JSON lines so a failed run can be checked again with `skiff-chaos check`.
//!
//! An operation is two events of one process: its `invoke` and its completion. `ok` means it
//! took effect and carries what it returned; `fail` means it certainly did not take effect
//! (the request never reached a server, or a server refused it before doing anything);
//! `info` means its outcome is unknown (a timeout, a lost connection): it may have taken
//! effect at any time after its invocation, or never.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Which half of an operation an event is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// What a register operation does.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    /// Reads the key; `value` of the `ok` event is what it saw (`None`: absent).
    Read,
    /// Puts `value`.
    Write,
    /// Puts `value` if the key holds `from` (an etcd Txn comparing the value).
    Cas,
}

/// One line of a history file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The client that issued it; a process has at most one operation outstanding.
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub f: Func,
    pub key: String,
    /// Write: the value written. Read (`ok`): the value read. Cas: the new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Cas: the value compared against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Cas (`ok`): whether the comparison held and the value was put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<bool>,
    /// Nanoseconds since the run started.
    pub time: u64,
    /// Why it failed or is unknown, or which member served it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Event {
    pub fn invoke(process: u64, f: Func, key: &str, time: u64) -> Event {
        Event {
            process,
            kind: EventType::Invoke,
            f,
            key: key.to_string(),
            value: None,
            from: None,
            succeeded: None,
            time,
            note: None,
        }
    }

    /// The same operation's completion of `kind` at `time`.
    pub fn complete(&self, kind: EventType, time: u64) -> Event {
        Event {
            kind,
            time,
            note: None,
            ..self.clone()
        }
    }
}

/// One operation: an invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub process: u64,
    pub f: Func,
    pub key: String,
    /// Write / Cas: the value put; Read: the value read (`ok` only).
    pub value: Option<String>,
    pub from: Option<String>,
    pub call: u64,
    /// `None`: the outcome is unknown (`info`), so it may take effect at any later time.
    pub ret: Option<u64>,
    /// Cas `ok`: whether it put its value; `None` when unknown.
    pub succeeded: Option<bool>,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "nil".to_string());
        let ms = |t: u64| format!("{:.3}ms", t as f64 / 1e6);
        let span = match self.ret {
            Some(ret) => format!("[{} .. {}]", ms(self.call), ms(ret)),
            None => format!("[{} .. unknown]", ms(self.call)),
        };
        match self.f {
            Func::Read => write!(out, "p{} read {} -> {} {span}", self.process, self.key, {
                show(&self.value)
            }),
            Func::Write => write!(
                out,
                "p{} write {} := {} {span}{}",
                self.process,
                self.key,
                show(&self.value),
                if self.ret.is_none() {
                    " (outcome unknown)"
                } else {
                    ""
                }
            ),
            Func::Cas => write!(
                out,
                "p{} cas {} {} -> {} {span} {}",
                self.process,
                self.key,
                show(&self.from),
                show(&self.value),
                match self.succeeded {
                    Some(true) => "succeeded",
                    Some(false) => "compare failed",
                    None => "(outcome unknown)",
                }
            ),
        }
    }
}

/// A history that does not pair up: an error naming the offending line.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HistoryError {
    #[error("event {index}: process {process} completes an operation it never invoked")]
    Unmatched { index: usize, process: u64 },
    #[error("event {index}: process {process} invokes while its previous operation is open")]
    Overlap { index: usize, process: u64 },
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("{0}")]
    Io(String),
}

/// Pairs invocations with completions. `fail`ed operations are dropped (they did not take
/// effect); an invocation never completed counts as `info`.
pub fn operations(events: &[Event]) -> Result<Vec<Operation>, HistoryError> {
    let mut open: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut ops: Vec<Option<Operation>> = Vec::new();
    for (index, e) in events.iter().enumerate() {
        match e.kind {
            EventType::Invoke => {
                if open.contains_key(&e.process) {
                    return Err(HistoryError::Overlap {
                        index,
                        process: e.process,
                    });
                }
                open.insert(e.process, ops.len());
                ops.push(Some(Operation {
                    process: e.process,
                    f: e.f,
                    key: e.key.clone(),
                    value: if e.f == Func::Read {
                        None
                    } else {
                        e.value.clone()
                    },
                    from: e.from.clone(),
                    call: e.time,
                    ret: None,
                    succeeded: None,
                }));
            }
            kind => {
                let Some(at) = open.remove(&e.process) else {
                    return Err(HistoryError::Unmatched {
                        index,
                        process: e.process,
                    });
                };
                let slot = &mut ops[at];
                match (kind, slot.as_mut()) {
                    (EventType::Fail, _) => *slot = None,
                    (EventType::Ok, Some(op)) => {
                        op.ret = Some(e.time);
                        if op.f == Func::Read {
                            op.value = e.value.clone();
                        }
                        if op.f == Func::Cas {
                            op.succeeded = Some(e.succeeded.unwrap_or(true));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    // A read whose outcome is unknown says nothing about the register.
    Ok(ops
        .into_iter()
        .flatten()
        .filter(|op| !(op.f == Func::Read && op.ret.is_none()))
        .collect())
}

pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), HistoryError> {
    let file = std::fs::File::create(path)
        .map_err(|e| HistoryError::Io(format!("cannot create {}: {e}", path.display())))?;
    let mut out = std::io::BufWriter::new(file);
    for item in items {
        let line = serde_json::to_string(item).map_err(|e| HistoryError::Io(e.to_string()))?;
        writeln!(out, "{line}")
            .map_err(|e| HistoryError::Io(format!("cannot write {}: {e}", path.display())))?;
    }
    out.flush()
        .map_err(|e| HistoryError::Io(format!("cannot write {}: {e}", path.display())))
}

pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, HistoryError> {
    let file = std::fs::File::open(path)
        .map_err(|e| HistoryError::Io(format!("cannot open {}: {e}", path.display())))?;
    let mut items = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| HistoryError::Io(format!("{}: {e}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        items.push(
            serde_json::from_str(&line).map_err(|e| HistoryError::Parse {
                line: i + 1,
                message: format!("{}: {e}", path.display()),
            })?,
        );
    }
    Ok(items)
}
