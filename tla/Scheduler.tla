------------------------------ MODULE Scheduler ------------------------------
(***************************************************************************)
(* TLA+ model of the task scheduler of "tempo", a Rust async runtime.      *)
(*                                                                         *)
(* One TLA+ action = one atomic step of the Rust code (one RMW on a task's *)
(* state word, one lock-free queue operation, ...).  TLA+'s interleaving   *)
(* semantics is sequential consistency, which is what the SeqCst pairs of  *)
(* the code (push/notify vs. park, release/re-check) rely on.              *)
(*                                                                         *)
(* The Rust function implementing each action is named in the comment     *)
(* above it.  See README.md for the table and for the TLC results.         *)
(*                                                                         *)
(* Constant Mutant selects a deliberately injected bug ("none" = the real  *)
(* design); the configs in mutants/ check that TLC catches each one.       *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    W,          \* worker threads
    T,          \* tasks
    NoWorker,   \* model value: nobody holds the sched role
    None,       \* model value: a worker's empty hand
    Budget,     \* number of environment events (Wake/Wakeup/Signal/Abort)
    Mutant      \* "none", or the name of an injected bug (see Mutants)

Mutants == {"none",
            "WakePushesWaitingPosted",  \* Wake re-pushes a WaitingPosted task
            "PollPendingIgnoresSignal", \* transition_to_idle forgets `signaled`
            "ExpireIgnoresStatus",      \* expire pushes a woken (Scheduled) task again
            "DispatchKeepsHeap",        \* dispatch of a Scheduled task leaves it in the heap
            "NoPushNotify",             \* pusher never notifies after push-to-empty
            "NoDriverToken",            \* Driver::unpark is lost if the driver is not blocked yet
            "ParkWithoutHolder",        \* WorkerPark guard as first proposed (timers orphaned)
            "ParkIgnoresFront",         \* has_work forgets front (role free): the
                                        \* release-vs-push race loses the task
            "NoWorkerWakeups",          \* notify_one never wakes anybody
            "SlotTakesWaiting",         \* a worker's wake of a Waiting task goes
                                        \* to its next-run slot (heap entry kept)
            "ParkWithShare",            \* a worker parks with tasks left in its share
            "ParkWithPass",             \* the role holder blocks in the driver with
                                        \* the task its round let pass in its share
            "ParkWithRerun",            \* a worker parks with re-posted tasks left
                                        \* in its rerun list
            "PopSkipsLane",             \* a pop may leave a non-empty lane of the
                                        \* ready queue untouched (ready.rs inv. 3)
            "StealCopiesSlot",          \* the owner takes its slot with a load and
                                        \* a store: a steal in between copies the task
            "UnkeepCopiesSlot"}         \* the un-keep reads the slot instead of
                                        \* swapping it: the task is in ready and slot

ASSUME /\ NoWorker \notin W
       /\ None \notin T
       /\ Budget \in Nat
       /\ Mutant \in Mutants

Statuses == {"Unborn", "Idle", "Scheduled", "Running",
             "Waiting", "WaitingPosted", "Complete"}

(* Worker states.  "DriverParking" = the sched-role holder has checked that *)
(* there is nothing to do and is about to block in Driver::park (the check *)
(* and the blocking syscall are two steps in the code: that window is what *)
(* the driver's unpark token is for).                                      *)
(* "Stealing" = a monitor (sched/watch.rs) back from its TICK timeout,     *)
(* inside Watch::steal_stale, or a lingering runner inside                 *)
(* KeptLooks::steal: it has robbed a lane into its private buffer          *)
(* (stolen) and fills its own share next (StealFill).                      *)
WStates == {"Active", "Parked", "DriverParking", "DriverParked", "Exited", "Stealing"}

VARIABLES
    \* ---- the per-task state word (one AtomicUsize in the code) ----
    status,         \* [T -> Statuses]
    notified,       \* [T -> BOOLEAN] woken while Running
    cancelled,      \* [T -> BOOLEAN] abort requested
    woken,          \* [T -> BOOLEAN] explicit wakeup pending (consumed by the task)
    signaled,       \* [T -> BOOLEAN] sticky signal pending (consumed by receive_signal)
    started,        \* [T -> BOOLEAN] has run at least once (STARTED, set by StartPoll)
    \* ---- ghost (not in the code): a Wakeup not yet followed by a new
    \*      run or by a receive_signal that returned true ----
    wakeOwed,       \* [T -> BOOLEAN]
    \* ---- shared structures ----
    front,          \* Seq(T): lock-free MPSC front queue
    frontClosed,    \* BOOLEAN
    ready,          \* Seq(T): FIFO ready queue, the lane of spawned, woken and re-posted
                    \*   tasks (pushed by the sched role and by RerunFlush)
    expq,           \* Seq(T): the ready queue's expired lane (sched/ready.rs invariant 3):
                    \*   tasks whose deadline passed, in expiry order; WorkerPop takes
                    \*   from both lanes, at least one from each non-empty lane
    heap,           \* SUBSET T: waiting heap, owned by the sched role
    due,            \* SUBSET heap: entries whose deadline has passed (time)
    local,          \* Seq(T): batch the sched-role holder took from front
    pending,        \* SUBSET T: an RMW decided to push t to front; push not done yet
    share,          \* [W -> Seq(T)]: the rest of the worker's last batched pop of the
                    \*   ready queue (worker.rs invariant 4), run in order by that worker
    rerun,          \* [W -> Seq(T)]: tasks the worker's runs re-posted (PollPending's
                    \*   again-branch, worker.rs invariant 5), appended to ready by its
                    \*   next pop or at the end of its batch (RerunFlush)
    stolen,         \* [W -> Seq(T)]: what the monitor (or lingering runner) v has
                    \*   stolen in its current Watch::steal_stale (KeptLooks::steal; a
                    \*   VecDeque on its stack), between the
                    \*   swap or CAS that took it (StealSlot, StealShare) and the fill
                    \*   of its own share (StealFill); empty unless wstate[v] = "Stealing"
    slot,           \* [W -> T \cup {None}]: the worker's next-run slot (sched/running.rs):
                    \*   a task its run moved Idle -> Scheduled, run next by that worker
    notifying,      \* SUBSET T: the pusher of t found front empty and owes a notify
    schedHolder,    \* W \cup {NoWorker}: the sched role (a try-lock)
    driverToken,    \* BOOLEAN: unpark token of the I/O driver (eventfd / mio Waker)
    phase,          \* the holder's place in its loop iteration (RoleGuard::round):
                    \*   "Round"   acquired, take_all not done yet
                    \*   "Drained" take_all done (dispatch / expire / release / park)
                    \*   "Woke"    back from Driver::park: the guard is dropped next
    lateRound,      \* SUBSET W: workers that took the role after shutdown began
                    \*   (the loop checks the flag only at its top: one more round)
    \* ---- workers ----
    hand,           \* [W -> T \cup {None}]
    dropping,       \* SUBSET W: workers dropping a cancelled future
    tryRole,        \* SUBSET W: workers that ended a batch with a non-empty rerun
                    \*   list, tried the role and found it held (SchedBusy): they
                    \*   flush the list (RerunFlush) before they pop again.  A worker
                    \*   that gets the role flushes it as the holder, after its round,
                    \*   so the tasks the round moved (woken from outside, expired)
                    \*   run before the re-posts of the batch (fairness probe)
    wstate,         \* [W -> WStates]
    \* ---- runtime ----
    registryClosed, \* BOOLEAN
    shutdown,       \* BOOLEAN
    budget          \* Nat: environment events left

taskVars  == <<status, notified, cancelled, woken, signaled, started, wakeOwed>>
queueVars == <<front, frontClosed, ready, expq, heap, due, local, pending, notifying, slot, share, rerun, stolen>>
schedVars == <<schedHolder, driverToken, phase, lateRound>>
workVars  == <<hand, dropping, wstate, tryRole>>
rtVars    == <<registryClosed, shutdown, budget>>
vars == <<taskVars, queueVars, schedVars, workVars, rtVars>>

-----------------------------------------------------------------------------
(* Helpers *)

Occ(s, t)     == Len(SelectSeq(s, LAMBDA x : x = t))  \* occurrences of t in s
InSeq(s, t)   == Occ(s, t) > 0
Holders(t)    == {w \in W : hand[w] = t}
SlotHolders(t) == {w \in W : slot[w] = t}
RECURSIVE SumOcc(_, _)
SumOcc(ws, t) == IF ws = {} THEN 0
                 ELSE LET w == CHOOSE x \in ws : TRUE
                      IN Occ(share[w], t) + SumOcc(ws \ {w}, t)
ShareCount(t) == SumOcc(W, t)
RECURSIVE SumRerun(_, _)
SumRerun(ws, t) == IF ws = {} THEN 0
                   ELSE LET w == CHOOSE x \in ws : TRUE
                        IN Occ(rerun[w], t) + SumRerun(ws \ {w}, t)
RerunCount(t) == SumRerun(W, t)
RECURSIVE SumStolen(_, _)
SumStolen(ws, t) == IF ws = {} THEN 0
                    ELSE LET w == CHOOSE x \in ws : TRUE
                         IN Occ(stolen[w], t) + SumStolen(ws \ {w}, t)
StolenCount(t) == SumStolen(W, t)
(* Number of "places" holding a reference that owes t a run / a trip to the heap. *)
Places(t)     == Occ(front, t) + Occ(local, t) + Occ(ready, t) + Occ(expq, t)
                 + (IF t \in pending THEN 1 ELSE 0) + Cardinality(Holders(t))
                 + Cardinality(SlotHolders(t))
                 + ShareCount(t) + RerunCount(t) + StolenCount(t)
ReadyEmpty    == ready = <<>> /\ expq = <<>>   \* ReadyQueue::len() = 0 (both lanes)
OnWayToSched(t) == t \in pending \/ InSeq(front, t) \/ InSeq(local, t)
AllExited     == \A w \in W : wstate[w] = "Exited"
ParkedWorkers == {w \in W : wstate[w] = "Parked"}

(* Idle::notify_one: unpark one parked worker, if there is one. *)
NotifyOne ==
    IF ParkedWorkers = {} \/ Mutant = "NoWorkerWakeups"
    THEN UNCHANGED wstate
    ELSE \E p \in ParkedWorkers : wstate' = [wstate EXCEPT ![p] = "Active"]

-----------------------------------------------------------------------------
Init ==
    /\ status      = [t \in T |-> "Unborn"]
    /\ notified    = [t \in T |-> FALSE]
    /\ cancelled   = [t \in T |-> FALSE]
    /\ woken       = [t \in T |-> FALSE]
    /\ signaled    = [t \in T |-> FALSE]
    /\ started     = [t \in T |-> FALSE]
    /\ wakeOwed    = [t \in T |-> FALSE]
    /\ front = <<>>  /\ frontClosed = FALSE
    /\ ready = <<>>  /\ expq = <<>>  /\ heap = {}  /\ due = {}  /\ local = <<>>
    /\ pending = {}  /\ notifying = {}
    /\ slot = [w \in W |-> None]
    /\ share = [w \in W |-> <<>>]
    /\ stolen = [w \in W |-> <<>>]
    /\ rerun = [w \in W |-> <<>>]
    /\ schedHolder = NoWorker  /\ driverToken = FALSE  /\ phase = "Round"
    /\ lateRound = {}
    /\ hand = [w \in W |-> None]  /\ dropping = {}  /\ tryRole = {}
    /\ wstate = [w \in W |-> "Active"]
    /\ registryClosed = FALSE  /\ shutdown = FALSE  /\ budget = Budget

-----------------------------------------------------------------------------
(***************************************************************************)
(* Who performs an event: NoWorker (another thread, the I/O driver, a     *)
(* worker outside a run) or a worker w inside a run (worker::run_task:     *)
(* polling, dropping or completing its task, or firing its task-local      *)
(* timers), with an empty next-run slot (sched/running.rs).  The code      *)
(* keeps a task woken Idle -> Scheduled by such a wake in the slot; a wake *)
(* from a worker whose slot is full pushes to front, which is the NoWorker *)
(* case.  Allowing any Active non-holder worker (also between two runs) is *)
(* a superset of the code's behaviours -- except a worker that took its    *)
(* one round after shutdown began (lateRound): it runs no task again.      *)
(***************************************************************************)
(* (An IF: TLC explores both disjuncts of an action's disjunction.)         *)
Actor(w) == IF w = NoWorker THEN TRUE
            ELSE /\ wstate[w] = "Active" /\ schedHolder # w /\ slot[w] = None
                 /\ w \notin lateRound

(***************************************************************************)
(* The "Wake effect" of State::transition_to_notified: part of the same    *)
(* RMW as the flag updates of Wake/Wakeup/Signal/Abort.  Touches only      *)
(* status, pending, slot and notified.  w: who wakes (Actor).  Only an     *)
(* Idle task may go to a slot (Notify::PushIdle): a Waiting task still has *)
(* a heap entry that only SchedDispatch removes (Notify::Push).            *)
(***************************************************************************)
ToSlotOrPending(t, w) ==
    IF w # NoWorker
      THEN /\ slot' = [slot EXCEPT ![w] = t]
           /\ UNCHANGED pending
      ELSE /\ pending' = pending \cup {t}
           /\ UNCHANGED slot

WakeEffect(t, w) ==
    CASE status[t] = "Idle" ->
            /\ status'  = [status EXCEPT ![t] = "Scheduled"]
            /\ ToSlotOrPending(t, w)
            /\ UNCHANGED notified
      [] status[t] = "Waiting" ->          \* stays in the heap; sched removes it later
            /\ status'  = [status EXCEPT ![t] = "Scheduled"]
            /\ IF Mutant = "SlotTakesWaiting"
                 THEN ToSlotOrPending(t, w)
                 ELSE /\ pending' = pending \cup {t}
                      /\ UNCHANGED slot
            /\ UNCHANGED notified
      [] status[t] = "WaitingPosted" ->    \* already travelling through front: no push
            /\ status'  = [status EXCEPT ![t] = "Scheduled"]
            /\ IF Mutant = "WakePushesWaitingPosted"
                 THEN pending' = pending \cup {t}
                 ELSE UNCHANGED pending
            /\ UNCHANGED <<notified, slot>>
      [] status[t] = "Running" ->
            /\ notified' = [notified EXCEPT ![t] = TRUE]
            /\ UNCHANGED <<status, pending, slot>>
      [] OTHER ->                          \* Scheduled: already owes a run
            UNCHANGED <<status, pending, notified, slot>>

(* The environment holds a JoinHandle/Waker only for spawned tasks, and    *)
(* every event on a Complete task is a no-op in the code (not modelled).    *)
EnvOK(t) == budget > 0 /\ status[t] \notin {"Unborn", "Complete"}

(* Shared::spawn.  A spawn after begin_shutdown is rejected: t stays Unborn *)
(* (a stuttering step, hence not written).                                 *)
SpawnRegister(t) ==
    /\ status[t] = "Unborn"
    /\ ~registryClosed
    /\ status'  = [status EXCEPT ![t] = "Scheduled"]
    /\ pending' = pending \cup {t}
    /\ UNCHANGED <<started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, notifying, slot, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

(* State::transition_to_notified (Waker::wake).  This is also the whole    *)
(* effect of the I/O driver (the driver contract, DESIGN.md layer 5): the  *)
(* reactor's readiness dispatch (io::scheduled_io::ScheduledIo::report)    *)
(* wakes a task's waker from inside Driver::park or the non-blocking       *)
(* Driver::poll_events of every round, i.e. at any time, from the role     *)
(* holder's thread; tla/Readiness.tla refines what happens before it.      *)
Wake(t, w) ==
    /\ EnvOK(t)
    /\ Actor(w)
    /\ budget' = budget - 1
    /\ WakeEffect(t, w)
    /\ UNCHANGED <<started, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, registryClosed, shutdown>>

(* State::transition_to_woken: absorbed (no change at all) if a signal is   *)
(* pending; otherwise woken := TRUE plus the Wake effect, in one RMW.        *)
Wakeup(t, w) ==
    /\ EnvOK(t)
    /\ Actor(w)
    /\ budget' = budget - 1
    /\ wakeOwed' = [wakeOwed EXCEPT ![t] = TRUE]          \* ghost
    /\ IF signaled[t]
         THEN UNCHANGED <<status, pending, notified, woken, slot, share, rerun>>
         ELSE /\ woken' = [woken EXCEPT ![t] = TRUE]
              /\ WakeEffect(t, w)
    /\ UNCHANGED <<started, cancelled, signaled>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, registryClosed, shutdown>>

(* State::transition_to_signaled: signals do not stack (a boolean). *)
Signal(t, w) ==
    /\ EnvOK(t)
    /\ Actor(w)
    /\ budget' = budget - 1
    /\ signaled' = [signaled EXCEPT ![t] = TRUE]
    /\ WakeEffect(t, w)
    /\ UNCHANGED <<started, cancelled, woken, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, registryClosed, shutdown>>

(* State::transition_to_cancelled (JoinHandle::abort) *)
Abort(t, w) ==
    /\ EnvOK(t)
    /\ Actor(w)
    /\ budget' = budget - 1
    /\ cancelled' = [cancelled EXCEPT ![t] = TRUE]
    /\ WakeEffect(t, w)
    /\ UNCHANGED <<started, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, registryClosed, shutdown>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Front queue: push, and the pusher's notification.                        *)
(***************************************************************************)

(* FrontQueue::push.  Dropped (reference released) once the queue is        *)
(* closed.  A push that found the queue empty owes a notification.          *)
PushFront(t) ==
    /\ t \in pending
    /\ pending' = pending \ {t}
    /\ IF frontClosed
         THEN UNCHANGED <<front, notifying>>
         ELSE /\ front' = Append(front, t)
              /\ notifying' = IF front = <<>> /\ Mutant # "NoPushNotify"
                                THEN notifying \cup {t} ELSE notifying
    /\ UNCHANGED <<taskVars, frontClosed, ready, expq, heap, due, local, slot, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

(* The second half of the pusher's SeqCst Dekker pair (after the push):    *)
(* FrontQueue::push -> Shared::notify_sched.  If nobody holds the sched     *)
(* role, unpark one parked worker (Idle::notify_one); otherwise unpark the  *)
(* driver (Driver::unpark): wakes the holder if it is blocked in the driver,*)
(* else leaves a token that makes its next Driver::park return at once.     *)
NotifySched(t) ==
    /\ t \in notifying
    /\ notifying' = notifying \ {t}
    /\ IF schedHolder = NoWorker
         THEN /\ NotifyOne
              /\ UNCHANGED driverToken
         ELSE IF wstate[schedHolder] = "DriverParked"
                THEN /\ wstate' = [wstate EXCEPT ![schedHolder] = "Active"]
                     /\ UNCHANGED driverToken
                ELSE /\ driverToken' = (Mutant # "NoDriverToken" \/ driverToken)
                     /\ UNCHANGED wstate
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, slot, share, rerun, stolen>>
    /\ UNCHANGED <<schedHolder, phase, lateRound, hand, dropping, tryRole, rtVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* The sched role (a try-lock): the holder drains front into the ready      *)
(* queue / waiting heap, expires timers, and blocks in the I/O driver.      *)
(***************************************************************************)

IsHolder(w) == schedHolder = w /\ wstate[w] = "Active"

(* SchedRole::try_acquire.  worker::run_loop pops the ready queue (at most  *)
(* BATCH tasks) before it tries the role, so it tries with an empty ready   *)
(* queue -- or with front non-empty, which over-approximates the BATCH cap  *)
(* and the retry after a release -- or at the end of a batch that left     *)
(* tasks in its rerun list (flushed after the round, RerunFlush).  After    *)
(* begin_shutdown a worker finishes its loop iteration: at most one more    *)
(* round (lateRound).  Also between two runs of a batch, with a non-empty   *)
(* share and an empty slot (worker.rs invariant 8: round_between_runs, when *)
(* the front queue's hint says a woken task was pushed; the hint is not     *)
(* modelled, so this is allowed at any such point, a superset); that worker *)
(* goes on with its batch after the round, so such a round is never late.   *)
SchedAcquire(w) ==
    /\ schedHolder = NoWorker
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] = None
    /\ w \notin tryRole
    /\ \/ /\ share[w] = <<>>
          /\ ReadyEmpty \/ front # <<>> \/ rerun[w] # <<>>
       \/ share[w] # <<>>
    /\ ~shutdown \/ w \notin lateRound
    /\ schedHolder' = w
    /\ phase' = "Round"
    /\ lateRound' = IF shutdown /\ share[w] = <<>> THEN lateRound \cup {w} ELSE lateRound
    /\ UNCHANGED <<taskVars, queueVars, driverToken, hand, dropping, wstate, tryRole, rtVars>>

(* SchedRole::try_acquire fails (another worker holds the role) at the end *)
(* of a batch that left tasks in the rerun list: the worker flushes them   *)
(* (RerunFlush) and goes back to its loop.  Allowed whenever the worker    *)
(* holds no task and has run its share: an over-approximation of "after    *)
(* BATCH runs, or when the ready queue is empty".                          *)
SchedBusy(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] = None
    /\ share[w] = <<>>
    /\ rerun[w] # <<>>
    /\ w \notin tryRole
    /\ schedHolder \notin {NoWorker, w}
    /\ tryRole' = tryRole \cup {w}
    /\ UNCHANGED <<taskVars, queueVars, schedVars, hand, dropping, wstate, rtVars>>

(* FrontQueue::take_all, once per round (RoleGuard::round): the consumer   *)
(* takes the whole queue at once; an empty take is a step too.              *)
SchedTakeFront(w) ==
    /\ IsHolder(w)
    /\ local = <<>>
    /\ phase = "Round"
    /\ local' = front
    /\ front' = <<>>
    /\ phase' = "Drained"
    /\ UNCHANGED <<taskVars, frontClosed, ready, expq, heap, due, pending, notifying, slot, share, rerun, stolen>>
    /\ UNCHANGED <<schedHolder, driverToken, lateRound, workVars, rtVars>>

(* Sched::dispatch (RoleGuard::round -> State::transition_to_dispatched):  *)
(* one RMW on the head of the local batch.  The pass (role.rs invariant 4): *)
(* the first Scheduled task of the round that has run before (started: a    *)
(* wake, not a spawn) goes to the holder's next-run slot instead of the     *)
(* back of the ready queue, and the holder runs it first after its release  *)
(* (the code keeps it at the head of its share); at most one per round (the *)
(* slot is empty when the round starts: SchedAcquire).                      *)
(* WorkerNotify (Idle::notify_one) *)
(* is folded into every push to the ready queue; the code batches these     *)
(* notifications after the release ("help" loop in run_loop) -- that only   *)
(* delays wake-ups of extra workers, which liveness does not rely on while  *)
(* the role is held (the holder never parks with ready # <<>>).             *)
SchedDispatch(w) ==
    /\ IsHolder(w)
    /\ phase = "Drained"
    /\ local # <<>>
    /\ LET t == Head(local) IN
       /\ local' = Tail(local)
       /\ CASE status[t] = "WaitingPosted" ->
                 /\ status' = [status EXCEPT ![t] = "Waiting"]
                 /\ heap' = heap \cup {t}
                 /\ UNCHANGED <<ready, due, wstate, slot>>
            [] status[t] = "Scheduled" ->
                 /\ IF Mutant = "DispatchKeepsHeap"
                      THEN UNCHANGED <<heap, due>>
                      ELSE /\ heap' = heap \ {t}
                           /\ due'  = due \ {t}
                 /\ IF started[t] /\ slot[w] = None
                      THEN /\ slot' = [slot EXCEPT ![w] = t]
                           /\ UNCHANGED <<ready, wstate>>
                      ELSE /\ ready' = Append(ready, t)
                           /\ NotifyOne
                           /\ UNCHANGED slot
                 /\ UNCHANGED status
            [] OTHER ->          \* Complete: swept by shutdown, drop the reference
                 UNCHANGED <<status, heap, due, ready, wstate, slot>>
    /\ UNCHANGED <<started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, expq, pending, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, hand, dropping, tryRole, rtVars>>

(* Sched::expire (RoleGuard::round -> WaitingHeap::pop_expired,             *)
(* State::transition_expired, ReadyQueue::push_round): a deadline in the    *)
(* heap has passed; the task goes to the expired lane of the ready queue    *)
(* (expq), which every pop serves (WorkerPop).  Which due entry goes first  *)
(* is left open (fairness is per entry: the heap pops in deadline order, so *)
(* no due entry is passed over forever).                                    *)
SchedExpire(w, t) ==
    /\ IsHolder(w)
    /\ phase = "Drained"
    /\ t \in due
    /\ heap' = heap \ {t}
    /\ due'  = due \ {t}
    /\ IF status[t] = "Waiting" \/ (Mutant = "ExpireIgnoresStatus" /\ status[t] = "Scheduled")
         THEN /\ status' = [status EXCEPT ![t] = "Scheduled"]
              /\ expq'   = Append(expq, t)
              /\ NotifyOne
         ELSE UNCHANGED <<status, expq, wstate>>   \* Scheduled: a wake beat the deadline
    /\ UNCHANGED <<started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, local, pending, notifying, slot, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, hand, dropping, tryRole, rtVars>>

(* SchedRole::release (RoleGuard::drop): after a full round (take_all,     *)
(* dispatch of the whole batch, expiry of every due timer), or right after  *)
(* Driver::park returned.  Front may have been refilled since the take: the *)
(* push's notify then went to the driver, so the releasing worker comes     *)
(* back to try_acquire (it cannot park while front # <<>> and nobody holds  *)
(* the role).  Requiring due = {} after a round is a sound reduction: a     *)
(* deadline passing after the round's expire commutes with the release.     *)
SchedRelease(w) ==
    /\ IsHolder(w)
    /\ local = <<>>
    /\ rerun[w] = <<>> \/ share[w] # <<>>   \* a round between runs keeps it
    /\ phase = "Woke" \/ (phase = "Drained" /\ (due = {} \/ shutdown))
    /\ schedHolder' = NoWorker
    /\ phase' = "Round"              \* (canonical value while nobody holds the role)
    /\ UNCHANGED <<taskVars, queueVars, driverToken, lateRound, workVars, rtVars>>

(* Driver::park, first half (run_loop: round found nothing to run and      *)
(* front.is_empty()): the holder has checked there is nothing to do.        *)
SchedPark(w) ==
    /\ IsHolder(w)
    /\ ~shutdown
    /\ phase = "Drained"
    /\ local = <<>> /\ front = <<>> /\ ReadyEmpty /\ due = {}
    /\ rerun[w] = <<>>
    /\ share[w] = <<>>
    /\ slot[w] = None \/ Mutant = "ParkWithPass"    \* no pass (role.rs invariant 4)
    /\ wstate' = [wstate EXCEPT ![w] = "DriverParking"]
    /\ phase' = "Woke"              \* when the driver returns: drop the guard
    /\ UNCHANGED <<taskVars, queueVars, schedHolder, driverToken, lateRound, hand, dropping, tryRole, rtVars>>

(* Driver::park, second half: the blocking wait (timeout = nearest         *)
(* deadline).  Returns at once if the unpark token is set (ParkDriver state *)
(* NOTIFIED) or a deadline already passed (timeout zero).                   *)
DriverBlock(w) ==
    /\ wstate[w] = "DriverParking"
    /\ IF driverToken
         THEN /\ wstate' = [wstate EXCEPT ![w] = "Active"]
              /\ driverToken' = FALSE
         ELSE /\ wstate' = [wstate EXCEPT ![w] = IF due # {} THEN "Active" ELSE "DriverParked"]
              /\ UNCHANGED driverToken
    /\ UNCHANGED <<taskVars, queueVars, schedHolder, phase, lateRound, hand, dropping, tryRole, rtVars>>

(* Driver::park returns because its timeout (nearest deadline) elapsed. *)
DriverTimeout(w) ==
    /\ wstate[w] = "DriverParked"
    /\ due # {}
    /\ wstate' = [wstate EXCEPT ![w] = "Active"]
    /\ UNCHANGED <<taskVars, queueVars, schedVars, hand, dropping, tryRole, rtVars>>

(* Time passes: the deadline of a heap entry expires.  (Not code; the clock.) *)
Tick(t) ==
    /\ t \in heap \ due
    /\ due' = due \cup {t}
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, local, pending, notifying, slot, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Workers running tasks.                                                   *)
(***************************************************************************)

(* ReadyQueue::pop_batch.  The holder releases the role before running    *)
(* tasks.  The worker takes a prefix of each lane of the ready queue under  *)
(* one lock, at least one task from each non-empty lane, the expired ones   *)
(* first (ready.rs invariant 3): the first task to its hand, the rest to    *)
(* its share (worker.rs invariant 4), which it runs before it pops again.   *)
(* Any prefix lengths are allowed (the code takes up to len / workers, half *)
(* from the expired lane, at most what is left of its batch).  No guard on *)
(* shutdown: run_loop reads the flag before each take (worker.rs invariant *)
(* 10), but the read and the take are two steps, so a take may follow      *)
(* ShutdownBegin; WorkerExit is enabled at every such point.  A worker     *)
(* that found the role busy flushes its rerun list first (tryRole).  A     *)
(* worker that took its one round after shutdown began (lateRound) goes to *)
(* the top of its loop next and exits: it pops no more.                    *)
WorkerPop(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] = None
    /\ share[w] = <<>>
    /\ schedHolder # w
    /\ w \notin tryRole
    /\ w \notin lateRound
    /\ ~ReadyEmpty
    /\ \E ke \in 0..Len(expq), kf \in 0..Len(ready) :
         \* ReadyQueue::pop_batch: a prefix of each lane, at least one task
         \* from each non-empty lane (sched/ready.rs invariant 3), the
         \* expired ones first.
         /\ ke + kf >= 1
         /\ Mutant # "PopSkipsLane" => /\ expq # <<>> => ke >= 1
                                       /\ ready # <<>> => kf >= 1
         /\ LET got == SubSeq(expq, 1, ke) \o SubSeq(ready, 1, kf) IN
            /\ hand'  = [hand EXCEPT ![w] = Head(got)]
            /\ share' = [share EXCEPT ![w] = Tail(got)]
         /\ expq'  = SubSeq(expq, ke + 1, Len(expq))
         /\ ready' = SubSeq(ready, kf + 1, Len(ready))
    /\ UNCHANGED <<taskVars, front, frontClosed, heap, due, local, pending, notifying, slot, rerun, stolen>>
    /\ UNCHANGED <<schedVars, dropping, wstate, tryRole, rtVars>>

(* run_loop runs the next task of its share (after its slot, within the    *)
(* batch: a slot task that would pass BATCH is flushed first, SlotFlush).  *)
WorkerTakeShare(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] = None
    /\ share[w] # <<>>
    /\ schedHolder # w                  \* not during a round between runs
    /\ hand'  = [hand EXCEPT ![w] = Head(share[w])]
    /\ share' = [share EXCEPT ![w] = Tail(share[w])]
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, notifying, slot, rerun, stolen>>
    /\ UNCHANGED <<schedVars, dropping, wstate, tryRole, rtVars>>

(* worker::run_loop takes the task its last run put in the next-run slot  *)
(* (run_task's return value) before it pops the ready queue.                *)
WorkerTakeSlot(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] # None
    /\ schedHolder # w                  \* a pass runs after the release,
    /\ w \notin lateRound               \* but not after a round taken after
                                        \* shutdown began: that worker exits
                                        \* next (WorkerExit gives the pass back)
    /\ hand' = [hand EXCEPT ![w] = slot[w]]
    /\ slot' = [slot EXCEPT ![w] = None]
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, dropping, wstate, tryRole, rtVars>>

(* worker::take_own_rerun, on a one-runner runtime: with nothing in its    *)
(* slot or share, before shutdown, with front, the ready queue and the heap *)
(* empty (and, in the code, no I/O source and the block_on future not       *)
(* woken), the next task of its own rerun list runs at once, within the     *)
(* batch, instead of after a round that would find nothing to do (worker.rs *)
(* invariant 6).  The step is the code's read of the shutdown flag, its     *)
(* first shared read: front only grows while the worker is in its batch     *)
(* (only the role holder takes it), and with one runner the ready queue    *)
(* and the heap change only by this worker's own steps, so what its later   *)
(* reads find empty was empty then.  Allowed to any worker here (a superset *)
(* of the code's behaviours).  Without the guards TLC finds lassos that the *)
(* code's BATCH bound breaks: a task that keeps re-posting (a pending       *)
(* signal it never receives) run from the list forever, after shutdown     *)
(* (ShutdownTerminates) or while a ready or expired task waits.            *)
WorkerTakeRerun(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] = None
    /\ share[w] = <<>>
    /\ rerun[w] # <<>>
    /\ schedHolder # w
    /\ w \notin tryRole
    /\ w \notin lateRound
    /\ ~shutdown
    /\ front = <<>>
    /\ ReadyEmpty
    /\ heap = {}
    /\ hand'  = [hand EXCEPT ![w] = Head(rerun[w])]
    /\ rerun' = [rerun EXCEPT ![w] = Tail(rerun[w])]
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, notifying, slot, share, stolen>>
    /\ UNCHANGED <<schedVars, dropping, wstate, tryRole, rtVars>>

(* worker::run_loop after BATCH runs: the slot's task goes to the worker's  *)
(* rerun list, hence to the back of the ready queue at the batch's end      *)
(* (RerunFlush).  It is Scheduled and has no heap entry (only an Idle task  *)
(* or a spawn enters a slot; the code keeps no spawn on a batch's last run, *)
(* shared.rs invariant 5, which the spec does not need).  Allowed whenever *)
(* the worker holds no task: an over-                                       *)
(* approximation of the batch bound.                                        *)
SlotFlush(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] # None
    /\ schedHolder # w                  \* as for WorkerTakeSlot: a holder's or
    /\ w \notin lateRound               \* late worker's slot holds a pass
    /\ rerun' = [rerun EXCEPT ![w] = Append(rerun[w], slot[w])]
    /\ slot' = [slot EXCEPT ![w] = None]
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, notifying, share, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

(* worker::run_loop at the end of its batch (ReadyQueue::push_batch): the   *)
(* rerun list goes to the back of the ready queue, one lock acquisition:    *)
(* either as the role holder, after its round took the front queue and the  *)
(* expired deadlines (so those run first), before SchedRelease; or after    *)
(* SchedBusy.  A flushing worker wakes one sleeper if it flushed more than  *)
(* one task (the holder: one per extra ready task, after the release; here: *)
(* may or may not).                                                         *)
RerunFlush(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ share[w] = <<>>
    /\ rerun[w] # <<>>
    /\ \/ /\ w \in tryRole
          /\ schedHolder # w
          /\ tryRole' = tryRole \ {w}
       \/ /\ IsHolder(w)
          /\ phase = "Drained"
          /\ local = <<>>
          /\ UNCHANGED tryRole
    /\ ready' = ready \o rerun[w]
    /\ rerun' = [rerun EXCEPT ![w] = <<>>]
    /\ NotifyOne \/ UNCHANGED wstate
    /\ UNCHANGED <<taskVars, front, frontClosed, expq, heap, due, local, pending, notifying, slot, share, stolen>>
    /\ UNCHANGED <<schedVars, hand, dropping, rtVars>>

(***************************************************************************)
(* The watch (sched/watch.rs): work a worker holds privately never waits    *)
(* behind its long poll while another runner idles.  The monitor v, a      *)
(* sleeping runner whose TICK timeout fires (it ticks while some runner is  *)
(* awake), runs Watch::steal_stale: for each lane whose run counter shows   *)
(* one run in progress since its previous look, it swaps the lane's slot    *)
(* out (StealSlot) and takes its share with one CAS (StealShare), each into *)
(* a private buffer (stolen[v], a VecDeque on its stack); after the last    *)
(* lane it moves the buffer into its own share, its lane's ring, which is   *)
(* empty (StealFill: Lane::fill), and runs it (WorkerTakeShare, after its   *)
(* release of the role if it slept in the driver).  Three kinds of atomic   *)
(* step, three actions; the robbed worker w runs on between them.  v is     *)
(* "Stealing" from its first take to its fill: awake, doing nothing else.   *)
(*                                                                         *)
(* Over-approximated by nondeterminism: the timer, the run counter and the *)
(* claim protocol that picks the monitor (watch.rs invariants 2 and 4).  A  *)
(* sleeping v may start a steal at any time; a take is enabled whenever w's *)
(* slot or share holds a task, not only inside w's run: the counter is a   *)
(* hint read before the swap and the CAS, and w's run may end (and a later  *)
(* one begin) in between, so the code too takes from a lane between two    *)
(* runs.  (The spec's slot[w] also holds a pass after the round, which the  *)
(* code keeps in the worker's private buffer, out of reach: stealing it is  *)
(* a behaviour only the spec has.)  No fairness on StealSlot/StealShare: a  *)
(* steal is a shortcut, liveness never relies on it; weak fairness on       *)
(* StealFill: a monitor that has begun finishes its steal_stale.            *)
(*                                                                         *)
(* The slot is taken with a swap and the share with one CAS on w's lane, as *)
(* the owner takes each (its swap at the run's end, its CAS per task):      *)
(* exactly one of the two gets a task (watch.rs invariants 1 and 6).        *)
(* Mutant StealCopiesSlot: the owner's take is a load and a store, so a     *)
(* steal between them leaves the task in the slot as well.                  *)
(***************************************************************************)

ShareCap == 33   \* watch.rs SHARE_CAP = worker.rs BATCH + 1: a lane's ring

(* A sleeping runner starts, or a stealing one goes on with, its steal. *)
MayRob(v) == wstate[v] \in {"Parked", "DriverParked", "Stealing"}

(* A lingering runner (worker.rs invariant 7): awake, holding nothing,    *)
(* not the role holder (it released the role), between batches: the state  *)
(* in which it could pop.  Its polls take a spawn kept in another runner's  *)
(* slot once the run that kept it has lasted KEPT_STALE (watch.rs invariant *)
(* 7, KeptLooks::steal): StealSlot, then StealFill.  Which slot task it    *)
(* takes (a kept spawn: Lane::kept_in) and when are policy, over-          *)
(* approximated: any slot task, at any time (the code too may take a woken  *)
(* task, when its owner ends the run and keeps one between the lingerer's  *)
(* check and its swap; loom watch::woken_task_in_the_slot_is_not_taken_by_a_ *)
(* lingerer checks the policy where no such race exists).                  *)
Lingering(v) ==
    /\ wstate[v] = "Active"
    /\ hand[v] = None /\ slot[v] = None /\ share[v] = <<>> /\ rerun[v] = <<>>
    /\ schedHolder # v
    /\ v \notin tryRole /\ v \notin lateRound

(* Lane::steal (from Watch::steal_stale, or from KeptLooks::steal by a     *)
(* lingering v: the code's policy takes kept spawns only, any slot task     *)
(* here): the swap of w's slot.  Not the                                    *)
(* holder's slot during its round: that holds only a pass (the code's lane  *)
(* slot is empty then).                                                     *)
StealSlot(w, v) ==
    /\ v # w
    /\ slot[w] # None
    /\ schedHolder # w
    /\ MayRob(v) \/ Lingering(v)
    /\ stolen' = [stolen EXCEPT ![v] = Append(stolen[v], slot[w])]
    /\ IF Mutant = "StealCopiesSlot"
         THEN UNCHANGED slot
         ELSE slot' = [slot EXCEPT ![w] = None]
    /\ wstate' = [wstate EXCEPT ![v] = "Stealing"]
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, notifying, share, rerun>>
    /\ UNCHANGED <<schedVars, hand, dropping, tryRole, rtVars>>

(* Lane::steal_share (from Watch::steal_stale): the CAS head -> tail that   *)
(* takes the rest of w's share.                                             *)
StealShare(w, v) ==
    /\ v # w
    /\ share[w] # <<>>
    /\ MayRob(v)
    /\ stolen' = [stolen EXCEPT ![v] = stolen[v] \o share[w]]
    /\ share'  = [share EXCEPT ![w] = <<>>]
    /\ wstate' = [wstate EXCEPT ![v] = "Stealing"]
    /\ UNCHANGED <<taskVars, front, frontClosed, ready, expq, heap, due, local, pending, notifying, slot, rerun>>
    /\ UNCHANGED <<schedVars, hand, dropping, tryRole, rtVars>>

(* Watch::steal_stale after its last lane (KeptLooks::steal after its       *)
(* take): Lane::fill of v's own ring, which is empty (fill's debug_assert;  *)
(* HandOK: v parked, slept in the driver or lingered with an empty share,  *)
(* and nobody fills it meanwhile).  Beyond the *)
(* ring's room, ShareCap, the rest goes to the head of the ready queue      *)
(* (ReadyQueue::push_front_batch, then Idle::notify_one), just before the   *)
(* fill in the code: the two commute, only v reads its own ring.  That     *)
(* needs more than ShareCap tasks: never with the T of the configs (at most *)
(* 3 tasks), nor in the code with two runners (one lane robbed: its slot   *)
(* and at most BATCH - 1 share tasks); the branch is written, not checked.  *)
StealFill(v) ==
    /\ wstate[v] = "Stealing"
    /\ share[v] = <<>>
    /\ LET k == Len(stolen[v])
           n == IF k > ShareCap THEN ShareCap ELSE k
       IN /\ share' = [share EXCEPT ![v] = SubSeq(stolen[v], 1, n)]
          /\ ready' = SubSeq(stolen[v], n + 1, k) \o ready
          /\ IF k > ShareCap /\ ParkedWorkers # {} /\ Mutant # "NoWorkerWakeups"
               THEN \E p \in ParkedWorkers :
                      wstate' = [wstate EXCEPT ![v] = "Active", ![p] = "Active"]
               ELSE wstate' = [wstate EXCEPT ![v] = "Active"]
    /\ stolen' = [stolen EXCEPT ![v] = <<>>]
    /\ UNCHANGED <<taskVars, front, frontClosed, expq, heap, due, local, pending, notifying, slot, rerun>>
    /\ UNCHANGED <<schedVars, hand, dropping, tryRole, rtVars>>

(* State::transition_to_running.  If cancelled, the worker drops the future *)
(* instead of polling it (then FinishCancel).  Its Skip outcome (a task that *)
(* the shutdown sweep completed, or claimed: Running with cancelled, while  *)
(* a straggler worker held its notification) has no action here: only a    *)
(* straggler left by shutdown_timeout meets it, and ShutdownSweep waits for *)
(* AllExited (stragglers are not modelled; README).                        *)
StartPoll(w) ==
    /\ hand[w] # None
    /\ status[hand[w]] = "Scheduled"
    /\ LET t == hand[w] IN
       /\ status'   = [status EXCEPT ![t] = "Running"]
       /\ notified' = [notified EXCEPT ![t] = FALSE]
       /\ started'  = [started EXCEPT ![t] = TRUE]
       /\ wakeOwed' = [wakeOwed EXCEPT ![t] = FALSE]     \* ghost: a new run begins
       /\ dropping' = IF cancelled[t] THEN dropping \cup {w} ELSE dropping
    /\ UNCHANGED <<cancelled, woken, signaled>>
    /\ UNCHANGED <<queueVars, schedVars, hand, wstate, tryRole, rtVars>>

Polling(w) == hand[w] # None /\ status[hand[w]] = "Running" /\ w \notin dropping

(* State::receive_signal (the task consumes its signal, Acquire). *)
ReceiveSignal(w) ==
    /\ Polling(w)
    /\ signaled[hand[w]]
    /\ signaled' = [signaled EXCEPT ![hand[w]] = FALSE]
    /\ wakeOwed' = [wakeOwed EXCEPT ![hand[w]] = FALSE]  \* ghost: the task saw the signal
    /\ UNCHANGED <<started, status, notified, cancelled, woken>>
    /\ UNCHANGED <<queueVars, schedVars, workVars, rtVars>>

(* State::take_woken (the task consumes its explicit wakeup). *)
ConsumeWoken(w) ==
    /\ Polling(w)
    /\ woken[hand[w]]
    /\ woken' = [woken EXCEPT ![hand[w]] = FALSE]
    /\ UNCHANGED <<started, status, notified, cancelled, signaled, wakeOwed>>
    /\ UNCHANGED <<queueVars, schedVars, workVars, rtVars>>

(* Shared::spawn from inside a task's poll on a runtime with one runner     *)
(* (worker_threads(1), or worker_threads(0) driven by one block_on): the new *)
(* task goes straight to the back of that worker's rerun list, not through  *)
(* front and the sched role (worker.rs invariant 6).  Nobody else could     *)
(* start it before the spawner's poll ends, and it still starts behind      *)
(* every task ready or posted before it (the list is flushed after the      *)
(* round, RerunFlush).  The registry insert and the append are one step    *)
(* here: the append is to the worker's private list.  Allowed to any        *)
(* polling worker of any runtime (a superset of the code's behaviours).     *)
SpawnLocal(t, w) ==
    /\ status[t] = "Unborn"
    /\ ~registryClosed
    /\ Polling(w)
    /\ status' = [status EXCEPT ![t] = "Scheduled"]
    /\ rerun'  = [rerun EXCEPT ![w] = Append(rerun[w], t)]
    /\ UNCHANGED <<started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, pending, notifying, slot, share, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

(* Shared::spawn from inside a task's run on a runtime with two or more    *)
(* runners, when the run may keep a spawn (not its batch's last) and        *)
(* nothing spawned before it awaits dispatch: front, ready, the spawner's   *)
(* share and rerun list empty and no round between its take of front and   *)
(* its push to ready (shared.rs invariant 5; that condition keeps FIFO      *)
(* start order, a property of the code that tests/fifo.rs checks, not of    *)
(* the spec, so it is not written here).  The new task goes to the          *)
(* spawner's empty next-run slot, where a monitor or a lingering runner    *)
(* may steal it (StealSlot) if the spawner's run goes on; the spawner may   *)
(* owe a NotifySched for it.  The registry insert and the slot's store  *)
(* are one step here: only the spawner fills its slot (watch.rs invariant   *)
(* 1), and it decided before the insert.  Allowed to any Actor worker (as   *)
(* Wake's slot branch: Active, not the holder, empty slot, not lateRound),  *)
(* which covers a spawn from a future's or an output's drop after the poll *)
(* (a superset of the code's behaviours).                                   *)
SpawnSlot(t, w) ==
    /\ status[t] = "Unborn"
    /\ ~registryClosed
    /\ Actor(w)
    /\ status' = [status EXCEPT ![t] = "Scheduled"]
    /\ slot'   = [slot EXCEPT ![w] = t]
    \* running::keep_spawned then wakes a sleeper (Shared::notify_sched)
    \* unless a runner lingers (a hint read there): it owes a NotifySched,
    \* or not.
    /\ \/ notifying' = notifying
       \/ notifying' = notifying \cup {t}
    /\ UNCHANGED <<started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, pending, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

(* running::spawn_place: the run's second spawn moves the spawn it kept     *)
(* from its slot to the head of ready first (shared.rs invariant 5: it was *)
(* kept when nothing awaited dispatch, so it goes ahead of everything       *)
(* queued since): a swap of the slot by its owner (exactly one of it and a  *)
(* monitor's StealSlot gets the task), and the push under ready's lock, one *)
(* step here (the task is private to the owner between them).  Only a      *)
(* spawn that has not started is kept, so only such a task moves (the code *)
(* never moves a woken task or the pass this way).  Allowed to any Active  *)
(* non-holder worker.  No wake: the spawner's next push (the second spawn, *)
(* to front) notifies, and the spawner itself pops ready after its run.     *)
SlotUnkeep(w) ==
    /\ slot[w] # None
    /\ ~started[slot[w]]
    /\ wstate[w] = "Active" /\ schedHolder # w /\ w \notin lateRound
    /\ ready' = <<slot[w]>> \o ready
    /\ IF Mutant = "UnkeepCopiesSlot"
         THEN UNCHANGED slot
         ELSE slot' = [slot EXCEPT ![w] = None]
    /\ UNCHANGED <<status, started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, expq, heap, due, local, pending, notifying, share, rerun, stolen>>
    /\ UNCHANGED <<schedVars, workVars, rtVars>>

(* State::transition_to_idle: the poll returned Pending.  hasDeadline: the  *)
(* future registered a timer during this poll.  Aborted during the poll:    *)
(* the task stays Running and the worker drops the future at once           *)
(* (AfterPoll::Cancel, then FinishCancel).  Woken or signaled: Scheduled    *)
(* and appended to the worker's rerun list (worker.rs invariant 5: it has   *)
(* no heap entry, so it needs no trip through front and the sched role); a  *)
(* signaled task ignores its deadline.  With a deadline: WaitingPosted and  *)
(* pushed to front, for the role to put in the heap.                        *)
PollPending(w) ==
    /\ Polling(w)
    /\ LET t == hand[w]
           again == notified[t] \/ (signaled[t] /\ Mutant # "PollPendingIgnoresSignal")
       IN
       /\ notified' = [notified EXCEPT ![t] = FALSE]
       /\ IF cancelled[t]
            THEN /\ dropping' = dropping \cup {w}
                 /\ UNCHANGED <<status, pending, hand, rerun>>
            ELSE /\ hand' = [hand EXCEPT ![w] = None]
                 /\ UNCHANGED dropping
                 /\ \E hasDeadline \in BOOLEAN :
                      IF again
                        THEN /\ status'  = [status EXCEPT ![t] = "Scheduled"]
                             /\ rerun'   = [rerun EXCEPT ![w] = Append(rerun[w], t)]
                             /\ UNCHANGED pending
                        ELSE /\ UNCHANGED rerun
                             /\ IF hasDeadline
                                  THEN /\ status'  = [status EXCEPT ![t] = "WaitingPosted"]
                                       /\ pending' = pending \cup {t}
                                  ELSE /\ status'  = [status EXCEPT ![t] = "Idle"]
                                       /\ UNCHANGED pending
    /\ UNCHANGED <<started, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<front, frontClosed, ready, expq, heap, due, local, notifying, slot, share, stolen>>
    /\ UNCHANGED <<schedVars, wstate, tryRole, rtVars>>

(* State::transition_to_complete: the poll returned Ready (output stored). *)
PollReady(w) ==
    /\ Polling(w)
    /\ status'   = [status EXCEPT ![hand[w]] = "Complete"]
    /\ notified' = [notified EXCEPT ![hand[w]] = FALSE]
    /\ hand'     = [hand EXCEPT ![w] = None]
    /\ UNCHANGED <<started, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<queueVars, schedVars, dropping, wstate, tryRole, rtVars>>

(* State::transition_to_complete after dropping a cancelled future. *)
FinishCancel(w) ==
    /\ w \in dropping
    /\ status'   = [status EXCEPT ![hand[w]] = "Complete"]
    /\ notified' = [notified EXCEPT ![hand[w]] = FALSE]
    /\ hand'     = [hand EXCEPT ![w] = None]
    /\ dropping' = dropping \ {w}
    /\ UNCHANGED <<started, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<queueVars, schedVars, wstate, tryRole, rtVars>>

(* Idle::park: register as sleeper, re-check has_work, park -- one step     *)
(* here: with the SeqCst Dekker pair against notify_one (pusher: push, then *)
(* read sleepers; sleeper: register, then read front/role), one of the two  *)
(* always sees the other, so the atomic step loses no behaviour that        *)
(* matters (README).                                                        *)
(* has_work = ready non-empty, or (role free and (front non-empty or        *)
(* timed > 0)), or shutdown.  `timed` (SchedRole::timed) mirrors the heap   *)
(* size and is exact whenever the role is free.  Without the timed term     *)
(* (the guard first proposed, Mutant ParkWithoutHolder) every worker can    *)
(* park while nobody holds the role and the heap is non-empty: no thread    *)
(* keeps time and the deadlines never fire.                                 *)
WorkerPark(w) ==
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ slot[w] = None
    /\ share[w] = <<>> \/ Mutant = "ParkWithShare"
    /\ rerun[w] = <<>> \/ Mutant = "ParkWithRerun"
    /\ w \notin tryRole
    /\ schedHolder # w
    /\ ~shutdown
    /\ ReadyEmpty
    /\ CASE Mutant = "ParkWithoutHolder" -> schedHolder # NoWorker \/ front = <<>>
         [] Mutant = "ParkIgnoresFront"  -> schedHolder # NoWorker \/ heap = {}
         [] OTHER                        -> schedHolder # NoWorker \/ (front = <<>> /\ heap = {})
    /\ wstate' = [wstate EXCEPT ![w] = "Parked"]
    /\ UNCHANGED <<taskVars, queueVars, schedVars, hand, dropping, tryRole, rtVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Shutdown.                                                                *)
(***************************************************************************)

(* Shared::begin_shutdown: close the registry, set the flag, unpark every   *)
(* parked worker and the driver.                                            *)
ShutdownBegin ==
    /\ ~shutdown
    /\ shutdown' = TRUE
    /\ registryClosed' = TRUE
    /\ wstate' = [w \in W |-> IF wstate[w] \in {"Parked", "DriverParked"}
                               THEN "Active" ELSE wstate[w]]
    /\ driverToken' = (driverToken \/ \E w \in W : wstate[w] = "DriverParking")
    /\ UNCHANGED <<taskVars, queueVars, schedHolder, phase, lateRound, hand, dropping, tryRole, budget>>

(* Worker::run returns: worker::run_loop reads is_shutdown before it takes *)
(* each task and before it tries the role at the end of a batch (worker.rs *)
(* invariant 10), so it may leave in the middle of a batch.  What it still  *)
(* holds goes back to the ready queue in the order it would have run it:    *)
(* its slot (a pass its last round gave it, role.rs invariant 4, or a task  *)
(* a run woke), its share, its rerun list (worker.rs invariant 9; the code  *)
(* also wakes a sleeper for them, which after ShutdownBegin is moot).  Not  *)
(* between SchedBusy and its RerunFlush (tryRole): the code flushes at once.*)
WorkerExit(w) ==
    /\ shutdown
    /\ wstate[w] = "Active"
    /\ hand[w] = None
    /\ schedHolder # w
    /\ w \notin tryRole
    /\ wstate' = [wstate EXCEPT ![w] = "Exited"]
    /\ ready'  = ready \o (IF slot[w] = None THEN <<>> ELSE <<slot[w]>>)
                      \o share[w] \o rerun[w]
    /\ slot'   = [slot EXCEPT ![w] = None]
    /\ share'  = [share EXCEPT ![w] = <<>>]
    /\ rerun'  = [rerun EXCEPT ![w] = <<>>]
    /\ UNCHANGED <<taskVars, front, frontClosed, expq, heap, due, local, pending, notifying, stolen>>
    /\ UNCHANGED <<schedVars, hand, dropping, tryRole, rtVars>>

(* Shared::finish_shutdown, per registered task: State::transition_to_     *)
(* shutdown (Claimed: -> Running|Cancelled) then cancel_and_complete (the   *)
(* future is dropped, -> Complete).  One step here: all workers have been   *)
(* joined, so only environment events (no-ops or a NOTIFIED that            *)
(* transition_to_complete clears) can fall in between.  Straggler workers   *)
(* (shutdown_timeout expired, Shutdown::Busy) are not modelled.            *)
ShutdownSweep(t) ==
    /\ AllExited
    /\ status[t] \notin {"Running", "Complete", "Unborn"}
    /\ status' = [status EXCEPT ![t] = "Complete"]
    /\ UNCHANGED <<started, notified, cancelled, woken, signaled, wakeOwed>>
    /\ UNCHANGED <<queueVars, schedVars, workVars, rtVars>>

(* FrontQueue::close, ReadyQueue::drain, heap drain (finish_shutdown):     *)
(* later pushes only release their reference; the references held by       *)
(* front, both lanes of the ready queue, heap and the batch are released.  *)
FrontClose ==
    /\ ~frontClosed
    /\ AllExited
    /\ \A t \in T : status[t] \in {"Complete", "Unborn"}
    /\ frontClosed' = TRUE
    /\ front' = <<>>  /\ ready' = <<>>  /\ expq' = <<>>  /\ local' = <<>>
    /\ heap' = {}     /\ due' = {}
    /\ UNCHANGED <<taskVars, pending, notifying, slot, share, rerun, schedVars, workVars, rtVars, stolen>>

ShutdownDone ==
    /\ shutdown /\ AllExited /\ frontClosed
    /\ \A t \in T : status[t] \in {"Complete", "Unborn"}
    /\ pending = {} /\ notifying = {}

(* The runtime is gone: explicit stuttering, so TLC's deadlock check stays  *)
(* on and flags any other state without a successor.                        *)
Terminated ==
    /\ ShutdownDone
    /\ UNCHANGED vars

-----------------------------------------------------------------------------
WorkerNext(w) ==
    \/ SchedAcquire(w) \/ SchedTakeFront(w) \/ SchedDispatch(w)
    \/ \E t \in T : SchedExpire(w, t)
    \/ SchedRelease(w) \/ SchedPark(w) \/ DriverBlock(w) \/ DriverTimeout(w)
    \/ WorkerPop(w) \/ WorkerTakeShare(w) \/ WorkerTakeSlot(w) \/ SlotFlush(w)
    \/ RerunFlush(w) \/ SchedBusy(w) \/ WorkerTakeRerun(w)
    \/ StartPoll(w) \/ ReceiveSignal(w) \/ ConsumeWoken(w)
    \/ PollPending(w) \/ PollReady(w) \/ FinishCancel(w)
    \/ WorkerPark(w) \/ WorkerExit(w)
    \/ \E v \in W : StealSlot(w, v) \/ StealShare(w, v)
    \/ StealFill(w)

EnvNext ==
    \/ \E t \in T : SpawnRegister(t)
    \/ \E t \in T, w \in W : SpawnLocal(t, w) \/ SpawnSlot(t, w)
    \/ \E w \in W : SlotUnkeep(w)
    \/ \E t \in T, w \in W \cup {NoWorker} :
          Wake(t, w) \/ Wakeup(t, w) \/ Signal(t, w) \/ Abort(t, w)
    \/ ShutdownBegin

Next ==
    \/ \E w \in W : WorkerNext(w)
    \/ \E t \in T : PushFront(t) \/ NotifySched(t) \/ Tick(t) \/ ShutdownSweep(t)
    \/ FrontClose
    \/ EnvNext
    \/ Terminated

(***************************************************************************)
(* Fairness: weak fairness on each step a thread takes by itself (workers,  *)
(* the pushers that owe a push/notify, the clock, the shutdown thread).     *)
(* The poll's outcome (Pending/Ready) and the optional ReceiveSignal /      *)
(* ConsumeWoken are the task's choice: only "the poll returns" is fair.     *)
(* The environment (spawn, wake, wakeup, signal, abort, shutdown) has none. *)
(***************************************************************************)
Fairness ==
    /\ \A w \in W :
         /\ WF_vars(SchedAcquire(w))
         /\ WF_vars(SchedTakeFront(w))
         /\ WF_vars(SchedDispatch(w))
         /\ \A t \in T : WF_vars(SchedExpire(w, t))
         /\ WF_vars(SchedRelease(w))
         /\ WF_vars(SchedPark(w))
         /\ WF_vars(DriverBlock(w))
         /\ WF_vars(DriverTimeout(w))
         /\ WF_vars(WorkerPop(w))
         /\ WF_vars(WorkerTakeSlot(w))
         \* Strong: a worker may take the role between two runs of its batch
         \* (SchedAcquire with a share), which disables this step while it
         \* holds the role; the code runs the next task of its share right
         \* after such a round (worker.rs invariant 8: at most one round per
         \* run), so it is not kept from it forever (WF alone allowed the
         \* lasso acquire, take an empty front, release, forever: TLC,
         \* SchedulerLive2.cfg).
         /\ SF_vars(WorkerTakeShare(w))
         /\ WF_vars(RerunFlush(w))
         /\ WF_vars(SchedBusy(w))
         \* One try_acquire, which either takes the role or finds it held: a
         \* worker with a rerun list to flush takes this step whichever way it
         \* goes (it cannot be starved by another worker taking the role in
         \* between, as WF on each half alone would allow).  Strong fairness:
         \* run_loop tries the role at the end of every batch, i.e. at least
         \* every BATCH runs, so a worker that keeps running tasks (popped,
         \* or taken from its own rerun list) cannot keep a rerun list from
         \* its flush forever, although between two runs it holds a task and
         \* the step is disabled (WF would allow that lasso: TLC found it once
         \* SpawnLocal could fill a list without any wake event).
         /\ SF_vars(SchedAcquire(w) \/ SchedBusy(w))
         /\ WF_vars(StartPoll(w))
         /\ WF_vars(PollPending(w) \/ PollReady(w) \/ FinishCancel(w))
         /\ WF_vars(WorkerPark(w))
         /\ WF_vars(WorkerExit(w))
         \* A monitor that has begun its steal_stale finishes it (the first
         \* take, StealSlot/StealShare, has no fairness).
         /\ WF_vars(StealFill(w))
    /\ \A t \in T :
         /\ WF_vars(PushFront(t))
         /\ WF_vars(NotifySched(t))
         /\ WF_vars(Tick(t))
         /\ WF_vars(ShutdownSweep(t))
    /\ WF_vars(FrontClose)

Spec     == Init /\ [][Next]_vars
LiveSpec == Spec /\ Fairness

-----------------------------------------------------------------------------
(***************************************************************************)
(* Safety properties (INVARIANTS).                                          *)
(***************************************************************************)

TypeOK ==
    /\ status    \in [T -> Statuses]
    /\ notified  \in [T -> BOOLEAN]
    /\ cancelled \in [T -> BOOLEAN]
    /\ woken     \in [T -> BOOLEAN]
    /\ signaled  \in [T -> BOOLEAN]
    /\ started   \in [T -> BOOLEAN]
    /\ wakeOwed  \in [T -> BOOLEAN]
    /\ front \in Seq(T) /\ ready \in Seq(T) /\ expq \in Seq(T) /\ local \in Seq(T)
    /\ frontClosed \in BOOLEAN
    /\ heap \subseteq T /\ due \subseteq heap
    /\ pending \subseteq T /\ notifying \subseteq T
    /\ slot \in [W -> T \cup {None}]
    /\ share \in [W -> Seq(T)]
    /\ stolen \in [W -> Seq(T)]
    /\ rerun \in [W -> Seq(T)]
    /\ schedHolder \in W \cup {NoWorker}
    /\ driverToken \in BOOLEAN /\ phase \in {"Round", "Drained", "Woke"}
    /\ lateRound \subseteq W
    /\ hand \in [W -> T \cup {None}]
    /\ dropping \subseteq W
    /\ tryRole \subseteq W
    /\ wstate \in [W -> WStates]
    /\ registryClosed \in BOOLEAN /\ shutdown \in BOOLEAN
    /\ budget \in 0..Budget

(* Every task sits at most once in front, local, ready, pending and hands. *)
AtMostOnePlace == \A t \in T : Places(t) <= 1

(* Nobody polls a task twice at the same time. *)
NoDoubleRun ==
    \A t \in T :
        /\ Cardinality(Holders(t)) <= 1
        /\ status[t] = "Running" => Cardinality(Holders(t)) = 1

(* The status of a task says exactly where its references are.  Complete  *)
(* tasks may still sit in a queue only during the final shutdown sweep.   *)
StatusMatchesPlace ==
    \A t \in T :
        /\ status[t] \in {"Unborn", "Idle"} => Places(t) = 0 /\ t \notin heap
        /\ status[t] = "Scheduled" =>
              /\ Places(t) = 1
              /\ t \in heap => OnWayToSched(t)     \* woken while Waiting
        /\ status[t] = "Running" =>
              /\ Places(t) = 1 /\ Holders(t) # {} /\ t \notin heap
        /\ status[t] = "Waiting" => Places(t) = 0 /\ t \in heap
        /\ status[t] = "WaitingPosted" =>
              /\ Places(t) = 1 /\ OnWayToSched(t) /\ t \notin heap
        /\ status[t] = "Complete" /\ ~AllExited => Places(t) = 0 /\ t \notin heap

(* A worker's hand holds a task it owes a run (or is running / dropping);  *)
(* its slot holds a task it will run next.                                 *)
HandOK ==
    \A w \in W :
        /\ hand[w] # None => status[hand[w]] \in {"Scheduled", "Running"}
        /\ w \in dropping => hand[w] # None /\ status[hand[w]] = "Running"
                             /\ cancelled[hand[w]]
        /\ wstate[w] \in {"Parked", "DriverParking", "DriverParked", "Exited", "Stealing"}
              => hand[w] = None
        \* The next-run slot: a task woken Idle -> Scheduled by the worker's own
        \* run, or spawned there (SpawnSlot), never in the heap; only an active worker has one, and the sched
        \* role holder only as the pass of its round (role.rs invariant 4).
        /\ slot[w] # None => /\ status[slot[w]] = "Scheduled"
                             /\ slot[w] \notin heap
                             /\ wstate[w] = "Active"
                             /\ schedHolder = w => /\ phase = "Drained"
                                                   /\ started[slot[w]]
        \* The share: tasks the worker popped and owes a run, never in the heap
        \* (a worker may hold the role with one: a round between runs).
        /\ share[w] # <<>> => /\ wstate[w] = "Active"
                              /\ \A i \in 1..Len(share[w]) :
                                    /\ status[share[w][i]] = "Scheduled"
                                    /\ share[w][i] \notin heap
        \* The rerun list: tasks the worker ran and owes another run, never in
        \* the heap (a running task has no heap entry).  A holder has one only
        \* between SchedAcquire and the RerunFlush that ends its round, or
        \* during a round between two runs of its batch (worker.rs inv. 8).
        /\ rerun[w] # <<>> => /\ wstate[w] = "Active"
                              /\ \A i \in 1..Len(rerun[w]) :
                                    /\ status[rerun[w][i]] = "Scheduled"
                                    /\ rerun[w][i] \notin heap
        \* The monitor's private buffer (Watch::steal_stale): non-empty exactly
        \* while it steals; it slept with an empty slot, share and rerun list
        \* and touches none of them until its fill, which needs the share empty.
        /\ stolen[w] # <<>> <=> wstate[w] = "Stealing"
        /\ wstate[w] = "Stealing" => /\ slot[w] = None /\ share[w] = <<>>
                                     /\ rerun[w] = <<>>
                                     /\ \A i \in 1..Len(stolen[w]) :
                                          /\ status[stolen[w][i]] = "Scheduled"
                                          /\ stolen[w][i] \notin heap

(* The sched role and the driver. *)
SchedRoleOK ==
    /\ local # <<>> => schedHolder # NoWorker
    /\ schedHolder # NoWorker =>
          /\ hand[schedHolder] = None
          /\ wstate[schedHolder] \in {"Active", "DriverParking", "DriverParked", "Stealing"}
    /\ \A w \in W : wstate[w] \in {"DriverParking", "DriverParked"} => schedHolder = w

(* Someone always drives the timers: if the waiting heap is non-empty and  *)
(* nobody holds the sched role, some worker is awake (and will take it).   *)
TimersDriven ==
    (~shutdown /\ heap # {} /\ schedHolder = NoWorker)
        => \E w \in W : wstate[w] = "Active"

(* A pending signal keeps the task scheduled/running until received. *)
SignalNeverLost ==
    \A t \in T : signaled[t] => status[t] \in {"Scheduled", "Running", "Complete"}

NotifiedOnlyRunning == \A t \in T : notified[t] => status[t] = "Running"

(* A Wakeup guarantees one more run (or, if absorbed by a pending signal,  *)
(* that the task observes that signal after the wakeup): until then the    *)
(* task is Scheduled, Complete, or Running with a re-run already owed.     *)
WokenNeverLost ==
    \A t \in T : wakeOwed[t] =>
        \/ status[t] \in {"Scheduled", "Complete"}
        \/ status[t] = "Running" /\ (notified[t] \/ signaled[t] \/ cancelled[t])

(* The literal reading "woken flag set => task owes a run".  This does NOT  *)
(* hold by design: a task whose poll does not call take_woken leaves a      *)
(* stale woken = TRUE behind when it goes Idle.  Checked (as a failure) by  *)
(* mutants/woken_literal.cfg.                                                *)
WokenFlagLiteral ==
    \A t \in T : woken[t] /\ ~signaled[t] => status[t] \in {"Scheduled", "Running", "Complete"}

-----------------------------------------------------------------------------
(***************************************************************************)
(* Liveness properties (PROPERTIES, with LiveSpec).                         *)
(***************************************************************************)

ScheduledEventuallyRuns ==
    \A t \in T : (status[t] = "Scheduled" /\ ~shutdown)
                    ~> (status[t] \in {"Running", "Complete"} \/ shutdown)

SignalEventuallyReceivedOrRun ==
    \A t \in T : (signaled[t] /\ ~shutdown)
                    ~> (status[t] \in {"Running", "Complete"} \/ shutdown)

(* Deadlines fire: a task in the waiting heap does not wait forever. *)
DeadlineEventuallyFires ==
    \A t \in T : (status[t] = "Waiting") ~> (status[t] # "Waiting")

ShutdownTerminates ==
    shutdown ~> ShutdownDone

(* Symmetry for the safety config (not used with liveness). *)
Symm == Permutations(W) \cup Permutations(T)

=============================================================================
