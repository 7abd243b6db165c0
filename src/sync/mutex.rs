//! [`Mutex`]: an asynchronous, FIFO-fair mutual-exclusion lock, built on a
//! one-permit [`Semaphore`].
//!
//! # What it owns
//! The protected value (in a shim `UnsafeCell`) and a [`Semaphore`] with
//! one permit. A [`MutexGuard`] / [`OwnedMutexGuard`] owns that permit (it
//! was `forget`-ten out of the semaphore) and gives it back on drop.
//!
//! # Invariants
//! 1. The semaphore has 1 permit when the mutex is unlocked and 0 while a
//!    guard exists; at most one guard exists at a time, and only a guard
//!    (or `&mut Mutex` / ownership: [`get_mut`](Mutex::get_mut),
//!    [`into_inner`](Mutex::into_inner)) reaches the value.
//! 2. Lock order is FIFO (the semaphore's invariant 1): a task that waits
//!    is not overtaken by later `lock`s or by `try_lock`.
//! 3. The semaphore is never closed, so an acquire never fails.
//!
//! # Who touches what
//! `data`: the one guard's holder (shared or exclusive through the guard),
//! or the owner through `&mut self` / `self`. `sem`: `lock`/`try_lock`
//! (acquire), guard drops (release).

use super::semaphore::Semaphore;
use crate::shim::{Arc, UnsafeCell};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// An asynchronous mutex: [`lock`](Mutex::lock) waits (without blocking
/// the thread) until the value is free and returns a guard.
///
/// Waiters get the lock in FIFO order. Unlike `std::sync::Mutex`, a guard
/// may be held across `.await` and moved between threads; the mutex never
/// poisons (a panic while holding the guard just releases it).
///
/// Use it when the lock must be held across an `.await`; for short critical
/// sections without awaits `std::sync::Mutex` is cheaper.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::sync::Arc;
/// use tempo::sync::Mutex;
///
/// let rt = tempo::Runtime::new().unwrap();
/// let n = rt.block_on(async {
///     let m = Arc::new(Mutex::new(Vec::new()));
///     let mut tasks = Vec::new();
///     for i in 0..4 {
///         let m = m.clone();
///         tasks.push(tempo::spawn(async move {
///             let mut v = m.lock().await;
///             tempo::task::yield_now().await; // held across an await
///             v.push(i);
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     let n = m.lock().await.len();
///     n
/// });
/// assert_eq!(n, 4);
/// # }
/// ```
pub struct Mutex<T> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: invariant 1: only the one guard (or the owner) reaches the value,
// so sharing the mutex between threads moves `T` between them (hence
// `T: Send`) but never gives two threads access at once (no `T: Sync`).
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: the mutex owns its `T`; sending it sends the `T`.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let m = tempo::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner(), 5);
    /// # }
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            sem: Semaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock (FIFO) and returns a guard; dropping the guard
    /// unlocks.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future before it completes leaves the
    /// queue; if the lock had just been handed to it, it is handed on to
    /// the next waiter. It loses its place in the queue.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let m = tempo::sync::Mutex::new(1);
    ///     *m.lock().await += 1;
    ///     assert_eq!(*m.lock().await, 2);
    /// });
    /// # }
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        match self.sem.acquire(1).await {
            Ok(p) => p.forget(),
            Err(_) => unreachable!("invariant 3: a mutex's semaphore is never closed"),
        }
        MutexGuard {
            lock: self,
            _not_sync_unless_t_sync: PhantomData,
        }
    }

    /// Like [`lock`](Mutex::lock), for a mutex in an `Arc`: the guard owns
    /// a reference to the mutex (`'static`, may move into a task).
    ///
    /// # Cancel safety
    /// As [`lock`](Mutex::lock): cancel-safe.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use std::sync::Arc;
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let m = Arc::new(tempo::sync::Mutex::new(0));
    ///     let mut g = m.clone().lock_owned().await;
    ///     tempo::spawn(async move { *g = 7; }).await.unwrap();
    ///     assert_eq!(*m.lock().await, 7);
    /// });
    /// # }
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        match self.sem.acquire(1).await {
            Ok(p) => p.forget(),
            Err(_) => unreachable!("invariant 3: a mutex's semaphore is never closed"),
        }
        OwnedMutexGuard {
            lock: self,
            _not_sync_unless_t_sync: PhantomData,
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Errors
    /// [`TryLockError`] if the mutex is locked or a `lock` is waiting.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let m = tempo::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// # }
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(p) => p.forget(),
            Err(_) => return Err(TryLockError(())),
        }
        Ok(MutexGuard {
            lock: self,
            _not_sync_unless_t_sync: PhantomData,
        })
    }

    /// Like [`try_lock`](Mutex::try_lock), for a mutex in an `Arc`.
    ///
    /// # Errors
    /// As [`try_lock`](Mutex::try_lock).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use std::sync::Arc;
    /// let m = Arc::new(tempo::sync::Mutex::new(1));
    /// let g = m.clone().try_lock_owned().unwrap();
    /// assert_eq!(*g, 1);
    /// # }
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(p) => p.forget(),
            Err(_) => return Err(TryLockError(())),
        }
        Ok(OwnedMutexGuard {
            lock: self,
            _not_sync_unless_t_sync: PhantomData,
        })
    }

    /// The value, through exclusive access to the mutex (no locking needed).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let mut m = tempo::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: invariant 1: `&mut self` proves no guard exists (a guard
        // borrows the mutex), so nobody else reaches the value.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex and returns the value.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let m = tempo::sync::Mutex::new("v");
    /// assert_eq!(m.into_inner(), "v");
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    /// The value, for shared use by the guard that holds the lock (a
    /// shared access for loom's `UnsafeCell` tracking).
    ///
    /// # Safety
    /// The caller holds the lock (a guard) for as long as it uses the
    /// reference, and no `&mut` from [`value_mut`](Mutex::value_mut) is live.
    unsafe fn value_ref(&self) -> *const T {
        self.data.with(|p| p)
    }

    /// The value, for exclusive use by the guard that holds the lock.
    ///
    /// # Safety
    /// The caller holds the lock (a guard) for as long as it uses the
    /// reference, and no other reference to the value is live.
    unsafe fn value_mut(&self) -> *mut T {
        self.data.with_mut(|p| p)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The guard of a locked [`Mutex`]: derefs to the value; dropping it
/// unlocks (the next waiter, in FIFO order, gets the lock).
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
    /// `Sync` only if `T: Sync` (a `&MutexGuard` hands out `&T`), `Send`
    /// only if `T: Send`.
    _not_sync_unless_t_sync: PhantomData<&'a mut T>,
}

impl<T> MutexGuard<'_, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Mutex<T> {
        this.lock
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: invariant 1: this guard is the only one; the returned
        // borrow is tied to `&self`, so no `&mut` from `deref_mut` coexists.
        unsafe { &*self.lock.value_ref() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: invariant 1, and `&mut self` excludes any other borrow
        // through this guard.
        unsafe { &mut *self.lock.value_mut() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The guard of [`Mutex::lock_owned`]: like [`MutexGuard`], but it owns an
/// `Arc` of the mutex (`'static`).
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct OwnedMutexGuard<T> {
    lock: Arc<Mutex<T>>,
    /// `Sync` only if `T: Sync`, `Send` only if `T: Send`.
    _not_sync_unless_t_sync: PhantomData<T>,
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: as `MutexGuard::deref`.
        unsafe { &*self.lock.value_ref() }
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `MutexGuard::deref_mut`.
        unsafe { &mut *self.lock.value_mut() }
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The error of [`Mutex::try_lock`]: the mutex is locked (or a `lock`
/// waits for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mutex is locked")
    }
}

impl std::error::Error for TryLockError {}
