------------------------------ MODULE ReadyQueue ------------------------------
(***************************************************************************)
(* The ready queue of tempo (src/sched/ready.rs): a Mutex<VecDeque> with   *)
(* an AtomicUsize `len` mirroring the deque's length, read without the     *)
(* lock.  Modelled step by step:                                           *)
(*                                                                         *)
(*  - the sched-role holder's ReadyQueue::push_round (lock, append, store  *)
(*    len, unlock), followed by the wake-ups of run_loop (read `sleepers`, *)
(*    hand out tokens under the Idle mutex);                               *)
(*    a worker's flush of its rerun list (worker.rs invariant 5) is the    *)
(*    same critical section, serialised with it by the mutex; the flusher  *)
(*    pops again itself instead of waking others (README);                 *)
(*  - |W| workers, each running the part of worker::run_loop that touches  *)
(*    the queue: ReadyQueue::pop_batch (Relaxed read of len -- the fast    *)
(*    path --, lock, take the 1..MaxPop oldest items, store len, unlock),  *)
(*    and, when it takes nothing, the                                      *)
(*    Idle::park handshake (register as sleeper under the Idle mutex, read *)
(*    len with SeqCst in the `has_work` closure, wait for a token);        *)
(*  - the shutdown thread's ReadyQueue::drain (lock, store 0, take,        *)
(*    unlock), optional, once.                                             *)
(*                                                                         *)
(* Memory model.  Every store to `len` and the has_work read are SeqCst:   *)
(* TLA+ interleaving order is the SeqCst total order, and a SeqCst load    *)
(* reads the latest store.  The fast-path read in pop is Relaxed: it may   *)
(* return any store to `len` not older (in len's modification order) than  *)
(* the newest one the worker has already seen or that happens-before it    *)
(* (coherence).  `hist` is len's modification order; `wview[w]` the oldest *)
(* entry worker w may still read.  Happens-before reaches a thread through *)
(* the queue mutex (`lockView`: the view of the last unlock) and through   *)
(* the Idle mutex that carries a wake-up token (`innerView`).             *)
(*                                                                         *)
(* Items 1..N are pushed in order, in batches of 1..MaxBatch.              *)
(*                                                                         *)
(* The code's queue has two lanes (ready.rs invariant 3: expired tasks and *)
(* the rest), two deques under the one mutex with one `len` for their      *)
(* total; push_round appends to both in one critical section.  What      *)
(* this module checks depends only on the total, so its items stand for    *)
(* both lanes' tasks; which lane a pop serves is Scheduler.tla's WorkerPop. *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    W,           \* worker threads (model values)
    N,           \* number of items the sched role pushes, in order
    MaxBatch,    \* largest batch one push_batch appends
    MaxPop,      \* largest batch one pop_batch takes (the worker's share)
    WithDrain,   \* BOOLEAN: the shutdown thread runs ReadyQueue::drain once
    Mutant       \* "none", or an injected bug (see Mutants)

Mutants == {"none",
            "LenAfterUnlock",       \* push_batch and pop store len after unlocking
            "PopBack",              \* pop takes the newest item (LIFO)
            "CheckBeforeRegister"}  \* Idle::park reads len before registering

Free == "free"

ASSUME /\ N \in Nat \ {0} /\ MaxBatch \in Nat \ {0} /\ MaxPop \in Nat \ {0}
       /\ WithDrain \in BOOLEAN
       /\ Mutant \in Mutants
       /\ Free \notin W /\ "sched" \notin W /\ "drain" \notin W

VARIABLES
    \* ---- shared memory ----
    q,           \* the VecDeque (only read or written under `lock`)
    lock,        \* holder of the queue mutex: Free, "sched", "drain" or a worker
    hist,        \* modification order of `len` (hist[Len(hist)] is the current value)
    lockView,    \* index in hist that the last unlock of the queue mutex publishes
    sleeping,    \* Idle: registered sleepers (`inner.sleeping`, mirrored by `sleepers`)
    tokens,      \* Idle: `inner.tokens`
    inner,       \* holder of the Idle mutex across register .. check (a parker) or Free
    innerView,   \* index in hist that the last token hand-out publishes
    \* ---- the sched-role holder (push_batch + wake-ups) ----
    spc,         \* "idle" | "locked" | "appended" | "stored" | "unlocked" | "notify" | "notifyLock"
    nextItem,    \* the next item to push
    sbatch,      \* the batch being pushed
    sval,        \* LenAfterUnlock: the length read under the lock, stored after
    sview,       \* sched's view while in push_batch (0 when idle)
    \* ---- workers ----
    wpc,         \* [W -> ...] place in pop / park
    hand,        \* [W -> 0..N]: the item pop returned (0 = None)
    wval,        \* [W -> Nat] LenAfterUnlock: the length to store after unlocking
    wview,       \* [W -> Nat]: oldest index of hist the worker may read
    \* ---- drain (shutdown) ----
    dpc,         \* "idle" | "locked" | "stored" | "taken" | "done"
    dview,       \* drain's view while in the critical section (0 otherwise)
    \* ---- ghosts ----
    out,         \* items removed from q, in removal order (pops and drain)
    published    \* items whose push_batch has stored len

vars == <<q, lock, hist, lockView, sleeping, tokens, inner, innerView,
          spc, nextItem, sbatch, sval, sview, wpc, hand, wval, wview,
          dpc, dview, out, published>>

WPcs == {"top", "lock", "front", "store", "unlock", "storeAfter", "run",
         "register", "check", "wait"}

Init ==
    /\ q = <<>> /\ lock = Free
    /\ hist = <<0>> /\ lockView = 1
    /\ sleeping = {} /\ tokens = 0 /\ inner = Free /\ innerView = 1
    /\ spc = "idle" /\ nextItem = 1 /\ sbatch = <<>> /\ sval = 0 /\ sview = 0
    /\ wpc = [w \in W |-> "top"] /\ hand = [w \in W |-> 0]
    /\ wval = [w \in W |-> 0] /\ wview = [w \in W |-> 1]
    /\ dpc = "idle" /\ dview = 0
    /\ out = <<>> /\ published = {}

Range(s) == {s[i] : i \in DOMAIN s}
Max(a, b) == IF a >= b THEN a ELSE b
LenNow == hist[Len(hist)]
StoreLen(v) == hist' = Append(hist, v)

(***************************************************************************)
(* The sched-role holder: RoleGuard::round's `push_round`, then run_loop's *)
(* wake-ups (`ready.len()`, release, `notify_one` loop).                   *)
(***************************************************************************)

(* `let mut q = self.q.lock();` (the batch is built before: items          *)
(* nextItem .. nextItem+b-1; `if batch.is_empty() return` never applies).  *)
SLock ==
    /\ spc = "idle" /\ nextItem <= N /\ lock = Free
    /\ \E b \in 1..MaxBatch :
         /\ nextItem + b - 1 <= N
         /\ sbatch' = [i \in 1..b |-> nextItem + i - 1]
         /\ nextItem' = nextItem + b
    /\ lock' = "sched"
    /\ sview' = lockView
    /\ spc' = "locked"
    /\ UNCHANGED <<q, hist, lockView, sleeping, tokens, inner, innerView, sval,
                   wpc, hand, wval, wview, dpc, dview, out, published>>

(* `q.append(batch);`                                                      *)
SAppend ==
    /\ spc = "locked"
    /\ q' = q \o sbatch
    /\ sval' = Len(q) + Len(sbatch)
    /\ spc' = "appended"
    /\ UNCHANGED <<lock, hist, lockView, sleeping, tokens, inner, innerView,
                   nextItem, sbatch, sview, wpc, hand, wval, wview, dpc, dview,
                   out, published>>

(* `self.len.store(q.len(), SeqCst);` -- under the lock (code), or after   *)
(* the unlock (LenAfterUnlock, storing the length read under the lock).    *)
SStore ==
    /\ \/ spc = "appended" /\ Mutant # "LenAfterUnlock"
       \/ spc = "unlocked" /\ Mutant = "LenAfterUnlock"
    /\ StoreLen(sval)
    /\ sview' = Len(hist) + 1
    /\ published' = published \cup Range(sbatch)
    /\ spc' = IF Mutant = "LenAfterUnlock" THEN "notify" ELSE "stored"
    /\ UNCHANGED <<q, lock, lockView, sleeping, tokens, inner, innerView,
                   nextItem, sbatch, sval, wpc, hand, wval, wview, dpc, dview, out>>

(* The guard of `q` dropped at the end of push_batch.                      *)
SUnlock ==
    /\ \/ spc = "stored" /\ Mutant # "LenAfterUnlock"
       \/ spc = "appended" /\ Mutant = "LenAfterUnlock"
    /\ lock' = Free
    /\ lockView' = sview
    /\ spc' = IF Mutant = "LenAfterUnlock" THEN "unlocked" ELSE "notify"
    /\ UNCHANGED <<q, hist, sleeping, tokens, inner, innerView, nextItem,
                   sbatch, sval, sview, wpc, hand, wval, wview, dpc, dview,
                   out, published>>

(* `Idle::notify_one_fenced`: `if self.sleepers() == 0 { return false }`    *)
(* (SeqCst read, outside the Idle mutex).                                  *)
SNotify ==
    /\ spc = "notify"
    /\ spc' = IF sleeping = {} THEN "idle" ELSE "notifyLock"
    /\ sview' = IF sleeping = {} THEN 0 ELSE sview
    /\ sbatch' = IF sleeping = {} THEN <<>> ELSE sbatch
    /\ UNCHANGED <<q, lock, hist, lockView, sleeping, tokens, inner, innerView,
                   nextItem, sval, wpc, hand, wval, wview, dpc, dview, out,
                   published>>

(* Under the Idle mutex: `if g.sleeping > g.tokens { g.tokens += 1 }`,     *)
(* repeated (abstraction: as many notify_one calls as there are sleepers;  *)
(* run_loop makes min(ready, sleepers + 1) - 1 calls and runs one task     *)
(* itself -- here the pusher is not a worker, so it wakes one more).       *)
SNotifyLock ==
    /\ spc = "notifyLock"
    /\ inner = Free
    /\ tokens' = Cardinality(sleeping)
    /\ innerView' = Max(innerView, sview)
    /\ spc' = "idle" /\ sview' = 0 /\ sbatch' = <<>>
    /\ UNCHANGED <<q, lock, hist, lockView, sleeping, inner, nextItem, sval,
                   wpc, hand, wval, wview, dpc, dview, out, published>>

Sched == SLock \/ SAppend \/ SStore \/ SUnlock \/ SNotify \/ SNotifyLock

(***************************************************************************)
(* Workers: ReadyQueue::pop in run_loop, and Idle::park when it is None.   *)
(***************************************************************************)
SetPc(w, p) == wpc' = [wpc EXCEPT ![w] = p]

(* `if self.len.load(Relaxed) == 0 { return None }` -- any store not older *)
(* than the worker's view.                                                 *)
WFast(w) ==
    /\ wpc[w] = "top"
    /\ \E i \in wview[w]..Len(hist) :
         /\ wview' = [wview EXCEPT ![w] = i]
         /\ SetPc(w, IF hist[i] = 0 THEN "register" ELSE "lock")
    /\ UNCHANGED <<q, lock, hist, lockView, sleeping, tokens, inner, innerView,
                   spc, nextItem, sbatch, sval, sview, hand, wval, dpc, dview,
                   out, published>>

(* `let mut q = self.q.lock();` (acquire: sees what the last unlock saw).  *)
WLock(w) ==
    /\ wpc[w] = "lock" /\ lock = Free
    /\ lock' = w
    /\ wview' = [wview EXCEPT ![w] = Max(@, lockView)]
    /\ SetPc(w, "front")
    /\ UNCHANGED <<q, hist, lockView, sleeping, tokens, inner, innerView, spc,
                   nextItem, sbatch, sval, sview, hand, wval, dpc, dview, out,
                   published>>

(* `out.extend(q.drain(..k))` with 1 <= k <= max (ReadyQueue::pop_batch:   *)
(* the worker's share; the first item is run at once, the rest after it,   *)
(* outside the queue).  PopBack: one item, the newest.                     *)
WFront(w) ==
    /\ wpc[w] = "front"
    /\ IF q = <<>>
         THEN /\ hand' = [hand EXCEPT ![w] = 0]
              /\ wval' = [wval EXCEPT ![w] = 0]
              /\ UNCHANGED <<q, out>>
         ELSE IF Mutant = "PopBack"
           THEN /\ hand' = [hand EXCEPT ![w] = q[Len(q)]]
                /\ q' = SubSeq(q, 1, Len(q) - 1)
                /\ out' = Append(out, q[Len(q)])
                /\ wval' = [wval EXCEPT ![w] = Len(q) - 1]
           ELSE \E k \in 1..(IF MaxPop < Len(q) THEN MaxPop ELSE Len(q)) :
                /\ hand' = [hand EXCEPT ![w] = Head(q)]
                /\ q' = SubSeq(q, k + 1, Len(q))
                /\ out' = out \o SubSeq(q, 1, k)
                /\ wval' = [wval EXCEPT ![w] = Len(q) - k]
    /\ SetPc(w, IF Mutant = "LenAfterUnlock" THEN "unlock" ELSE "store")
    /\ UNCHANGED <<lock, hist, lockView, sleeping, tokens, inner, innerView,
                   spc, nextItem, sbatch, sval, sview, wview, dpc, dview,
                   published>>

(* `self.len.store(q.len(), SeqCst);` (under the lock; LenAfterUnlock:     *)
(* after it, from "storeAfter").                                           *)
AfterPop(w) == IF hand[w] # 0 THEN "run" ELSE "register"
WStore(w) ==
    /\ \/ wpc[w] = "store" /\ Mutant # "LenAfterUnlock"
       \/ wpc[w] = "storeAfter" /\ Mutant = "LenAfterUnlock"
    /\ StoreLen(wval[w])
    /\ wview' = [wview EXCEPT ![w] = Len(hist) + 1]
    /\ SetPc(w, IF Mutant = "LenAfterUnlock" THEN AfterPop(w) ELSE "unlock")
    /\ UNCHANGED <<q, lock, lockView, sleeping, tokens, inner, innerView, spc,
                   nextItem, sbatch, sval, sview, hand, wval, dpc, dview, out,
                   published>>

(* The guard dropped when pop returns.                                     *)
WUnlock(w) ==
    /\ wpc[w] = "unlock"
    /\ lock' = Free
    /\ lockView' = wview[w]
    /\ SetPc(w, IF Mutant = "LenAfterUnlock" THEN "storeAfter" ELSE AfterPop(w))
    /\ UNCHANGED <<q, hist, sleeping, tokens, inner, innerView, spc, nextItem,
                   sbatch, sval, sview, hand, wval, wview, dpc, dview, out,
                   published>>

(* run_task: the popped item is run; back to the top of the batch loop.    *)
WRun(w) ==
    /\ wpc[w] = "run"
    /\ hand' = [hand EXCEPT ![w] = 0]
    /\ SetPc(w, "top")
    /\ UNCHANGED <<q, lock, hist, lockView, sleeping, tokens, inner, innerView,
                   spc, nextItem, sbatch, sval, sview, wval, wview, dpc, dview,
                   out, published>>

(* Idle::park: `let mut g = self.inner.lock(); g.sleeping += 1;           *)
(* self.sleepers.fetch_add(1, SeqCst); fence(SeqCst);` (the role is held   *)
(* by the pusher, so a None from pop leads here).  CheckBeforeRegister:    *)
(* the has_work read comes first (WCheck), then this step, then the wait.  *)
WRegister(w) ==
    /\ \/ wpc[w] = "register" /\ Mutant # "CheckBeforeRegister"
       \/ wpc[w] = "check" /\ Mutant = "CheckBeforeRegister"
    /\ inner = Free
    /\ sleeping' = sleeping \cup {w}
    /\ IF Mutant = "CheckBeforeRegister"
         THEN /\ SetPc(w, "wait") /\ UNCHANGED inner
         ELSE /\ SetPc(w, "check") /\ inner' = w
    /\ UNCHANGED <<q, lock, hist, lockView, tokens, innerView, spc, nextItem,
                   sbatch, sval, sview, hand, wval, wview, dpc, dview, out,
                   published>>

(* `has_work()`: `shared.ready.len() > 0` (SeqCst: the latest store).  If  *)
(* true: `g.sleeping -= 1; sleepers.fetch_sub`, unlock, back to the loop.  *)
(* Else `cv.wait(g)` (releases the Idle mutex).                            *)
WCheck(w) ==
    /\ \/ wpc[w] = "check" /\ Mutant # "CheckBeforeRegister"
       \/ wpc[w] = "register" /\ Mutant = "CheckBeforeRegister"
    /\ wview' = [wview EXCEPT ![w] = Len(hist)]
    /\ IF LenNow > 0
         THEN /\ sleeping' = sleeping \ {w}
              /\ SetPc(w, "top")
         ELSE /\ SetPc(w, IF Mutant = "CheckBeforeRegister" THEN "check" ELSE "wait")
              /\ UNCHANGED sleeping
    /\ inner' = Free
    /\ UNCHANGED <<q, lock, hist, lockView, tokens, innerView, spc, nextItem,
                   sbatch, sval, sview, hand, wval, dpc, dview, out, published>>

(* `while g.tokens == 0 { g = self.cv.wait(g) } g.tokens -= 1;` then       *)
(* `g.sleeping -= 1; sleepers.fetch_sub` (the Idle mutex carries the       *)
(* notifier's view).                                                       *)
WWake(w) ==
    /\ wpc[w] = "wait" /\ tokens > 0 /\ inner = Free
    /\ tokens' = tokens - 1
    /\ sleeping' = sleeping \ {w}
    /\ wview' = [wview EXCEPT ![w] = Max(@, innerView)]
    /\ SetPc(w, "top")
    /\ UNCHANGED <<q, lock, hist, lockView, inner, innerView, spc, nextItem,
                   sbatch, sval, sview, hand, wval, dpc, dview, out, published>>

Worker(w) == WFast(w) \/ WLock(w) \/ WFront(w) \/ WStore(w) \/ WUnlock(w)
             \/ WRun(w) \/ WRegister(w) \/ WCheck(w) \/ WWake(w)

(***************************************************************************)
(* ReadyQueue::drain (Shared::finish_shutdown).                            *)
(***************************************************************************)
DLock ==
    /\ WithDrain /\ dpc = "idle" /\ lock = Free
    /\ lock' = "drain" /\ dview' = lockView /\ dpc' = "locked"
    /\ UNCHANGED <<q, hist, lockView, sleeping, tokens, inner, innerView, spc,
                   nextItem, sbatch, sval, sview, wpc, hand, wval, wview, out,
                   published>>

(* `self.len.store(0, SeqCst);`                                            *)
DStore ==
    /\ dpc = "locked"
    /\ StoreLen(0) /\ dview' = Len(hist) + 1 /\ dpc' = "stored"
    /\ UNCHANGED <<q, lock, lockView, sleeping, tokens, inner, innerView, spc,
                   nextItem, sbatch, sval, sview, wpc, hand, wval, wview, out,
                   published>>

(* `std::mem::take(&mut *q)` (the caller drops the tasks).                 *)
DTake ==
    /\ dpc = "stored"
    /\ out' = out \o q /\ q' = <<>> /\ dpc' = "taken"
    /\ UNCHANGED <<lock, hist, lockView, sleeping, tokens, inner, innerView, spc,
                   nextItem, sbatch, sval, sview, wpc, hand, wval, wview, dview,
                   published>>

DUnlock ==
    /\ dpc = "taken"
    /\ lock' = Free /\ lockView' = dview /\ dview' = 0 /\ dpc' = "done"
    /\ UNCHANGED <<q, hist, sleeping, tokens, inner, innerView, spc, nextItem,
                   sbatch, sval, sview, wpc, hand, wval, wview, out, published>>

Drain == DLock \/ DStore \/ DTake \/ DUnlock

(* Everything pushed and consumed, every worker asleep: stutter.           *)
Terminated ==
    /\ spc = "idle" /\ nextItem > N /\ q = <<>>
    /\ \A w \in W : wpc[w] = "wait"
    /\ tokens = 0
    /\ dpc \in {"idle", "done"}
    /\ UNCHANGED vars

Next == Sched \/ (\E w \in W : Worker(w)) \/ Drain \/ Terminated

Spec == Init /\ [][Next]_vars

(* Every thread that has started an operation finishes it; the sched role  *)
(* keeps pushing; drain need not happen.                                   *)
Fairness ==
    /\ WF_vars(Sched)
    /\ \A w \in W : WF_vars(Worker(w))
    /\ WF_vars(DStore) /\ WF_vars(DTake) /\ WF_vars(DUnlock)

LiveSpec == Spec /\ Fairness

(***************************************************************************)
(* Properties                                                              *)
(***************************************************************************)
TypeOK ==
    /\ q \in Seq(1..N)
    /\ lock \in W \cup {Free, "sched", "drain"}
    /\ hist \in Seq(Nat) /\ Len(hist) >= 1
    /\ lockView \in 1..Len(hist) /\ innerView \in 1..Len(hist)
    /\ sleeping \subseteq W /\ tokens \in 0..Cardinality(W)
    /\ inner \in W \cup {Free}
    /\ spc \in {"idle", "locked", "appended", "stored", "unlocked", "notify", "notifyLock"}
    /\ nextItem \in 1..N+1
    /\ wpc \in [W -> WPcs] /\ hand \in [W -> 0..N]
    /\ wview \in [W -> 1..Len(hist)]
    /\ dpc \in {"idle", "locked", "stored", "taken", "done"}

Pushed == 1..(nextItem - 1)
Appended == IF spc = "locked" THEN 1..(nextItem - 1 - Len(sbatch)) ELSE Pushed

(* No loss: every appended item is in the deque or was removed from it.    *)
NoLoss == \A i \in Appended : i \in Range(q) \/ i \in Range(out)

(* No duplication: nothing is removed twice, nor both removed and queued.  *)
NoDup ==
    /\ \A i, j \in DOMAIN out : i # j => out[i] # out[j]
    /\ \A i, j \in DOMAIN q : i # j => q[i] # q[j]
    /\ Range(out) \cap Range(q) = {}

(* FIFO: items leave (pop, or drain) in the order they were pushed.        *)
FIFO == \A i, j \in DOMAIN out : i < j => out[i] < out[j]

(* Module invariant 2 of ready.rs: len equals the deque's length whenever  *)
(* the lock is free.                                                       *)
LenMirror == lock = Free => LenNow = Len(q)

(* What the park handshake relies on: once push_batch has stored len       *)
(* (its linearisation point), len stays > 0 -- in fact at least the number *)
(* of those items still queued -- until they are popped, so a SeqCst read  *)
(* of len (has_work, the holder's `ready.len()`) that comes after the      *)
(* store in the SeqCst order returns 0 only if they are all gone.  (drain  *)
(* stores 0 before it takes the items: its store is its linearisation      *)
(* point, the items are gone from then on.)                                *)
LenCoversPublished ==
    dpc # "stored" => LenNow >= Cardinality(published \cap Range(q))

(* At most one token per sleeper that is still waiting for one.            *)
TokensOK == tokens <= Cardinality({w \in W : wpc[w] = "wait"})

(* Liveness: every item is eventually removed (popped or drained), and     *)
(* every pushed item is eventually run or drained.                        *)
EveryItemTaken == \A i \in 1..N : <>(i \in Range(out))


Symm == Permutations(W)
=============================================================================
