//! Unit tests of the semaphore's state transitions, hand-polled.

use super::*;
use std::task::Wake;

struct Flag(crate::shim::atomic::AtomicBool);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        // SeqCst: a test flag, read after the wake.
        self.0.store(true, crate::shim::atomic::Ordering::SeqCst);
    }
}

fn flag() -> (Arc<Flag>, Waker) {
    let f = Arc::new(Flag(crate::shim::atomic::AtomicBool::new(false)));
    (f.clone(), Waker::from(f))
}

fn woken(f: &Flag) -> bool {
    // SeqCst: as above.
    f.0.load(crate::shim::atomic::Ordering::SeqCst)
}

/// A head waiter needing 3 collects permits partially; a later waiter
/// for 1 is not served before it (invariant 1).
#[test]
fn head_collects_partial_grants_first() {
    let sem = Semaphore::new(1);
    let (fa, wa) = flag();
    let (fb, wb) = flag();
    let mut a = Box::pin(sem.acquire(3));
    let mut b = Box::pin(sem.acquire(1));
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    assert_eq!(sem.available_permits(), 0, "the head holds the free permit");
    sem.add_permits(1);
    assert!(!woken(&fa) && !woken(&fb));
    sem.add_permits(2);
    assert!(woken(&fa) && woken(&fb), "a granted 3, b granted the last");
    let pa = a.as_mut().poll(&mut Context::from_waker(&wa));
    assert!(matches!(pa, Poll::Ready(Ok(ref p)) if p.num_permits() == 3));
    drop(pa);
    drop(b);
    assert_eq!(sem.available_permits(), 4, "b's grant went back");
}

/// Cancelling the head hands its partial grant on (invariant 2).
#[test]
fn cancelled_head_hands_partial_grant_on() {
    let sem = Semaphore::new(2);
    let (_fa, wa) = flag();
    let (fb, wb) = flag();
    let mut a = Box::pin(sem.acquire(3));
    let mut b = Box::pin(sem.acquire(2));
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    drop(a);
    assert!(woken(&fb));
    let pb = b.as_mut().poll(&mut Context::from_waker(&wb));
    assert!(matches!(pb, Poll::Ready(Ok(_))));
    drop(pb);
    assert_eq!(sem.available_permits(), 2);
}
