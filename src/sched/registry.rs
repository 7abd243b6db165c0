//! The registry of live tasks: every spawned task that has not completed,
//! whatever its state, so that shutdown can drop every unfinished future
//! exactly once, including tasks that wait forever and sit in no queue.
//!
//! Sharded by task id to spread lock contention.
//!
//! # Invariants
//! 1. A task is in the registry from a successful `insert` until `remove`
//!    (its completion) or `drain` (shutdown); the entry owns one reference.
//! 2. Once `close` ran, `insert` fails: no task can be registered after the
//!    shutdown sweep started (spec: `registryClosed`).
//! 3. A task's `registry_key` is read and written only under its shard's lock.
//! 4. Every slot is either occupied or on the free list, so the live count
//!    is `slots.len() - free.len()` ([`Shard::live`]). When the last task of
//!    a shard is removed, the shard gives back the slot and free vectors if
//!    a burst grew them beyond [`SHRINK_ABOVE`] slots (a key is only reused,
//!    never moved, so a shard can shrink only once it is empty).

use super::shared::SpawnTo;
use crate::shim::Mutex;
use crate::task::header::{RawTask, NO_KEY};

/// An emptied shard keeps its vectors up to this many slots (a steady load
/// never reallocates); a larger one is given back (invariant 4). 100,000
/// tasks spawned and finished at once used to leave about 12 bytes per task
/// behind in an idle runtime.
const SHRINK_ABOVE: usize = 4096;

#[derive(Default)]
struct Shard {
    slots: Vec<Option<RawTask>>,
    free: Vec<u32>,
    closed: bool,
}

impl Shard {
    /// Occupied slots (invariant 4).
    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
}

impl Registry {
    pub(crate) fn new(n: usize) -> Self {
        let n = n.max(1).next_power_of_two();
        Registry {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, t: RawTask) -> &Mutex<Shard> {
        &self.shards[(t.id() as usize) & (self.shards.len() - 1)]
    }

    /// Registers `t` (its entry takes the registry's reference); `false` if
    /// closed. `to`: where the spawner puts it next (`shared.rs` invariants
    /// 3 and 4).
    ///
    /// TLA+: `SpawnRegister` (`SpawnTo::Rerun`: `SpawnLocal`;
    /// `SpawnTo::Slot`: `SpawnSlot`)
    pub(crate) fn insert(&self, t: RawTask, to: SpawnTo) -> bool {
        let mut s = self.shard(t).lock();
        // Under the shard lock: recorded before the shutdown sweep can find
        // (and claim) the task here.
        trace!(spawn(t.state() as *const _ as usize, !s.closed, to));
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        let _ = to;
        if s.closed {
            return false;
        }
        let key = match s.free.pop() {
            Some(k) => {
                s.slots[k as usize] = Some(t);
                k
            }
            None => {
                let k = u32::try_from(s.slots.len())
                    .ok()
                    .filter(|&k| k != NO_KEY)
                    .expect("more than 2^32 - 1 live tasks in one registry shard");
                s.slots.push(Some(t));
                k
            }
        };
        // SAFETY: invariant 3: we hold the shard lock.
        t.header().registry_key.with_mut(|p| unsafe { *p = key });
        true
    }

    /// Unregisters `t`; returns whether it was present (then the caller drops
    /// the registry's reference).
    pub(crate) fn remove(&self, t: RawTask) -> bool {
        let mut s = self.shard(t).lock();
        // SAFETY: invariant 3.
        let key = t.header().registry_key.with(|p| unsafe { *p });
        if key == NO_KEY || s.slots.get(key as usize).copied().flatten() != Some(t) {
            return false;
        }
        s.slots[key as usize] = None;
        s.free.push(key);
        // SAFETY: invariant 3.
        t.header().registry_key.with_mut(|p| unsafe { *p = NO_KEY });
        // Invariant 4; the big vectors are freed after the lock is released.
        let big = (s.live() == 0 && s.slots.capacity() > SHRINK_ABOVE)
            .then(|| (std::mem::take(&mut s.slots), std::mem::take(&mut s.free)));
        drop(s);
        drop(big);
        true
    }

    /// Refuses further inserts (invariant 2).
    pub(crate) fn close(&self) {
        for s in self.shards.iter() {
            s.lock().closed = true;
        }
    }

    /// Takes every registered task (with its reference).
    pub(crate) fn drain(&self) -> Vec<RawTask> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let mut s = s.lock();
            for t in s.slots.drain(..).flatten() {
                // SAFETY: invariant 3.
                t.header().registry_key.with_mut(|p| unsafe { *p = NO_KEY });
                out.push(t);
            }
            s.free.clear();
        }
        out
    }

    /// Number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().live()).sum()
    }
}
