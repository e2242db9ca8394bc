//! Wing-Gong/Lowe linearizability search with porcupine's memo: a depth-first search over a time-ordered list of call and return entries, linearizing one pending operation at a time and backtracking at the first return it cannot pass.
//!
//! The list is a dancing-links array: linearizing an operation unlinks its call and return
//! entries, backtracking relinks them. Every (set of linearized operations, model state)
//! reached is remembered, so no configuration is explored twice (Lowe's memo; porcupine
//! keys it the same way). An operation whose outcome is unknown has its return at the end
//! of time: it may be linearized anywhere after its call, and placing it last is the same as
//! never applying it.

use std::collections::HashSet;
use std::hash::Hash;

/// A sequential specification.
pub trait Model {
    type State: Clone + Eq + Hash;
    type Op;
    fn init(&self) -> Self::State;
    /// The state after `op`, or `None` when `op` could not have returned what it returned.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
}

/// An operation's real-time span; `ret: None` is an unknown outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub call: u64,
    pub ret: Option<u64>,
    /// Try this operation after the others pending at each point. For an operation of
    /// unknown outcome: placed as late as it can go, just before an operation that needs
    /// what it did, it rarely has to be undone, whereas placed at its call (the list order)
    /// it is usually wrong, and the search finds out only where its value is read, after
    /// exploring every order in between. The order candidates are tried in changes how
    /// long the search takes, never what it concludes.
    pub late: bool,
}

/// What the search concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Linearizable,
    /// No order exists. `longest` is the longest prefix of a linearization found (indexes of
    /// operations, in order); `stuck` the operations pending where it stopped.
    Violation {
        longest: Vec<usize>,
        stuck: Vec<usize>,
    },
    /// The search gave up after `steps` steps.
    GaveUp {
        steps: u64,
    },
}

const NIL: usize = usize::MAX;

/// A set of operation indexes as bits (the memo's key with the state).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn flip(&mut self, i: usize) {
        self.0[i / 64] ^= 1 << (i % 64);
    }
}

/// The time-ordered entry list: node `2i` is operation i's call, `2i + 1` its return; the
/// head sentinel is node `2n`.
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
    head: usize,
}

impl Entries {
    fn new(spans: &[Span]) -> Entries {
        let n = spans.len();
        let mut order: Vec<usize> = (0..2 * n).collect();
        let time = |node: usize| {
            let s = spans[node / 2];
            if node.is_multiple_of(2) {
                s.call
            } else {
                s.ret.unwrap_or(u64::MAX)
            }
        };
        // At equal times a call comes first: the two operations count as concurrent.
        order.sort_by_key(|&node| (time(node), node % 2, node));
        let head = 2 * n;
        let mut next = vec![NIL; 2 * n + 1];
        let mut prev = vec![NIL; 2 * n + 1];
        let mut last = head;
        for &node in &order {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        Entries { next, prev, head }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    /// Operations whose call is still in the list before the first return: pending ones.
    fn pending(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut node = self.next[self.head];
        while node != NIL {
            if node % 2 == 1 {
                out.push(node / 2);
                break;
            }
            out.push(node / 2);
            node = self.next[node];
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// What a search concluded, and how many steps it took to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Searched {
    pub outcome: Outcome,
    pub steps: u64,
}

/// Searches for a linearization of `ops` (with their `spans`) under `model`, giving up after
/// `max_steps` steps. At each point the pending operations are tried in two passes over the
/// list: those not [`Span::late`], then the late ones.
pub fn check<M: Model>(model: &M, ops: &[M::Op], spans: &[Span], max_steps: u64) -> Searched {
    let n = ops.len();
    let mut entries = Entries::new(spans);
    let mut state = model.init();
    let mut linearized = Bits::new(n);
    let mut memo: HashSet<(Bits, M::State)> = HashSet::new();
    // (operation, state before it) for every operation linearized so far.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut longest: Vec<usize> = Vec::new();
    let mut stuck: Vec<usize> = Vec::new();
    let mut node = entries.next[entries.head];
    // Whether this point's candidates are the late operations (the second pass).
    let mut late = false;
    let mut steps = 0u64;
    while entries.next[entries.head] != NIL {
        steps += 1;
        if steps > max_steps {
            return Searched {
                outcome: Outcome::GaveUp { steps },
                steps,
            };
        }
        if node != NIL && node.is_multiple_of(2) {
            let op = node / 2;
            if spans[op].late != late {
                node = entries.next[node];
                continue;
            }
            if let Some(after) = model.step(&state, &ops[op]) {
                let mut with = linearized.clone();
                with.flip(op);
                if memo.insert((with.clone(), after.clone())) {
                    stack.push((op, std::mem::replace(&mut state, after)));
                    linearized = with;
                    entries.unlink(2 * op);
                    entries.unlink(2 * op + 1);
                    node = entries.next[entries.head];
                    late = false;
                    continue;
                }
            }
            node = entries.next[node];
            continue;
        }
        if !late {
            late = true;
            node = entries.next[entries.head];
            continue;
        }
        // A return whose operation could not be linearized before it: backtrack.
        if stack.len() >= longest.len() && (stack.len() > longest.len() || stuck.is_empty()) {
            longest = stack.iter().map(|(op, _)| *op).collect();
            stuck = entries.pending();
        }
        let Some((op, before)) = stack.pop() else {
            return Searched {
                outcome: Outcome::Violation { longest, stuck },
                steps,
            };
        };
        entries.relink(2 * op + 1);
        entries.relink(2 * op);
        linearized.flip(op);
        state = before;
        node = entries.next[2 * op];
        late = spans[op].late;
    }
    Searched {
        outcome: Outcome::Linearizable,
        steps,
    }
}
