//! [`JoinWaker`]: the `JoinHandle`'s waker slot in the task header, an
//! `Option<Waker>` in one word instead of two.
//!
//! A `JoinHandle` is almost always awaited by another tempo task, whose
//! waker is the task's header pointer and tempo's static vtable
//! (`waker.rs`). Such a waker is kept as the pointer alone; any other waker
//! (a `block_on` caller's, a foreign executor's) is boxed. The header is 8
//! bytes smaller for it (72 bytes), and the cell of a small future fits a
//! 96-byte allocation instead of a 112-byte one (`benches` `8-memory`).
//! The cost: one 16-byte allocation per registration of a foreign waker
//! (none for the common case).
//!
//! # Invariants
//! 1. The word is `0` (no waker), a task header pointer with bit 0 clear
//!    (a tempo task's waker, owning one reference of that task, as the
//!    `Waker` it replaces did: `waker.rs` invariant 1), or a
//!    `Box<Waker>` pointer with bit 0 set ([`FOREIGN`]). Headers and boxed
//!    wakers are at least 2-aligned (asserted at compile time), so bit 0 of
//!    either pointer is clear.
//! 2. The slot owns what the word names: [`set`](JoinWaker::set) and
//!    [`take`](JoinWaker::take) move ownership in and out, and drop releases
//!    it. Who may call them is `header.rs` invariant 6 (the slot lives in an
//!    `UnsafeCell` of the header).
//! 3. A waker rebuilt from a task pointer is the same `Waker` that was
//!    stored (same data pointer, same vtable), so `will_wake` and `wake`
//!    behave exactly as on an `Option<Waker>`.

use super::header::Header;
use super::waker;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

/// Tag bit of a boxed (foreign) waker (invariant 1).
const FOREIGN: usize = 1;

// Invariant 1: bit 0 of a header or boxed-waker pointer is free.
const _: () = assert!(std::mem::align_of::<Header>() >= 2 && std::mem::align_of::<Waker>() >= 2);

/// An `Option<Waker>` in one word (module doc).
pub(crate) struct JoinWaker(usize);

// SAFETY: it owns a `Waker` (Send + Sync) in either representation.
unsafe impl Send for JoinWaker {}
// SAFETY: as above; `&JoinWaker` only gives `&Waker` access.
unsafe impl Sync for JoinWaker {}

impl JoinWaker {
    /// No waker.
    pub(crate) const fn none() -> JoinWaker {
        JoinWaker(0)
    }

    /// Stores a clone of `w`, dropping the waker stored before.
    pub(crate) fn set(&mut self, w: &Waker) {
        let w = w.clone();
        let word = match waker::task_of(&w) {
            Some(p) => {
                // Invariant 2: the clone's reference moves into the word.
                std::mem::forget(w);
                p.as_ptr() as usize
            }
            None => Box::into_raw(Box::new(w)) as usize | FOREIGN,
        };
        debug_assert!(word & !FOREIGN != 0, "invariant 1: a non-null pointer");
        // The slot holds the new waker before the old one's drop runs (user
        // code that may panic: the slot stays whole).
        drop(JoinWaker(std::mem::replace(&mut self.0, word)));
    }

    /// Moves the stored waker out, leaving none.
    pub(crate) fn take(&mut self) -> Option<Waker> {
        let word = std::mem::replace(&mut self.0, 0);
        if word == 0 {
            None
        } else if word & FOREIGN == 0 {
            // SAFETY: invariant 1: a non-null header pointer whose reference
            // the word owned; it moves into the rebuilt waker.
            Some(unsafe { waker::from_task(NonNull::new_unchecked(word as *mut Header)) })
        } else {
            // SAFETY: invariant 1: the word came from `Box::into_raw` and is
            // owned by the slot; it is cleared above, so freed once.
            Some(*unsafe { Box::from_raw((word & !FOREIGN) as *mut Waker) })
        }
    }

    /// Calls `f` with the stored waker, if any (borrowed: nothing changes
    /// owner).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Waker) -> R) -> Option<R> {
        let word = self.0;
        if word == 0 {
            None
        } else if word & FOREIGN == 0 {
            // SAFETY: invariant 1: the slot owns a reference of that task, so
            // the header is live while `f` runs; ManuallyDrop keeps the
            // borrowed waker from releasing it.
            let w: ManuallyDrop<Waker> = ManuallyDrop::new(unsafe {
                waker::from_task(NonNull::new_unchecked(word as *mut Header))
            });
            Some(f(&w))
        } else {
            // SAFETY: invariant 1: a live box owned by the slot.
            Some(f(unsafe { &*((word & !FOREIGN) as *const Waker) }))
        }
    }

    /// Whether the stored waker would wake the same task as `w`.
    pub(crate) fn will_wake(&self, w: &Waker) -> bool {
        self.with(|s| s.will_wake(w)).unwrap_or(false)
    }
}

impl Drop for JoinWaker {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;
    use crate::shim::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::shim::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn a_foreign_waker_is_boxed_woken_and_dropped_once() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        let mut s = JoinWaker::none();
        assert!(s.with(|_| ()).is_none());
        s.set(&w);
        assert_eq!(Arc::strong_count(&c), 3);
        assert!(s.will_wake(&w));
        s.with(Waker::wake_by_ref);
        assert_eq!(c.0.load(SeqCst), 1);
        // Replacing drops the old clone.
        s.set(&w);
        assert_eq!(Arc::strong_count(&c), 3);
        drop(s.take());
        assert_eq!(Arc::strong_count(&c), 2);
        s.set(&w);
        drop(s);
        assert_eq!(Arc::strong_count(&c), 2);
    }

    #[test]
    fn the_slot_is_one_word() {
        assert_eq!(
            std::mem::size_of::<JoinWaker>(),
            std::mem::size_of::<usize>()
        );
    }
}
