------------------------------ MODULE Readiness ------------------------------
(***************************************************************************)
(* TLA+ model of the readiness / interest protocol of ONE registered I/O   *)
(* source of "tempo": the readiness word (src/io/readiness.rs), the waiter *)
(* slots of ScheduledIo (src/io/scheduled_io.rs), the reactor that reports *)
(* edge-triggered events into them, the task(s) waiting on the source (one *)
(* per direction in D: "r" = the reader, "w" = the writer) and a closer    *)
(* (ScheduledIo::shutdown: deregistration or reactor shutdown).            *)
(*                                                                         *)
(* One TLA+ action = one atomic step of the Rust code: one RMW or load of  *)
(* the readiness word, or one whole section under the `waiters` lock.      *)
(* The Rust function implementing each action is named in the comment     *)
(* above it.  See README.md for the table and for the TLC results.         *)
(*                                                                         *)
(* Edge-triggered: the environment makes data (or, for the writer, buffer  *)
(* space) arrive; each arrival leaves an edge in the kernel, which the     *)
(* reactor later collects and reports.  Edges that the reactor has not     *)
(* collected yet coalesce (one report for several arrivals), which is the  *)
(* weakest thing epoll(EPOLLET) promises.  Nothing is ever reported from   *)
(* the level (no re-arm, no "still readable" report).                      *)
(*                                                                         *)
(* Constant Mutant selects a deliberately injected bug ("none" = the real  *)
(* design); the configs in mutants/ check that TLC catches each one.       *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, TLC

CONSTANTS
    D,          \* directions with a waiting task: {"r"} or {"r", "w"}
    Arrivals,   \* arrivals (of bytes for "r", of buffer space for "w") per direction
    StreamOps,  \* FALSE: the operation is poll_io's (MockIo::try_read: takes all);
                \* TRUE: poll_stream_io's (a stream read/write: takes some, and a
                \*   short transfer clears the direction at once)
    ShortNotDrained, \* TRUE: the kernel may end a transfer short with bytes (space)
                \*   left (see README finding 5); FALSE: short means drained
    Urgent,     \* TRUE: TCP urgent data may arrive for the reader ("r"): a read
                \*   may then stop short at the urgent mark with bytes left, and
                \*   the arrival's edge carries EPOLLPRI (the only short-not-
                \*   drained read of a TCP socket; README finding 6)
    Sticky,     \* TRUE: a direction may be closed in the kernel (HangUp): its
                \*   edge's report sets the sticky READ_CLOSED / WRITE_CLOSED bit,
                \*   which keeps the direction ready for good, while the operation
                \*   may still return WouldBlock (a UDP socket shut down for
                \*   reading; README finding 7)
    Mutant      \* "none", or the name of an injected bug (see Mutants)

Mutants == {"none",
            "ClearWithoutTick",     \* clear() ignores the tick (plain fetch_and)
            "NoRecheck",            \* poll_ready stores the waker, returns Pending
                                    \* without re-reading the word under the lock
            "DispatchStaleSnapshot",\* the reactor's lock section decides whom to
                                    \* wake from the word read *before* its report
            "CloseWithoutWake",     \* shutdown sets SHUTDOWN but wakes nobody
            "ShortIgnoresUrgent",   \* a short TCP read clears readiness even
                                    \* with URGENT in its snapshot
            "NoParkGuard"}          \* after a WouldBlock whose clear succeeded,
                                    \* the poll goes back to poll_ready (the code
                                    \* before finding 7): a sticky bit makes it
                                    \* retry the operation forever in one poll

ASSUME /\ D \subseteq {"r", "w"} /\ D # {}
       /\ Arrivals \in Nat
       /\ StreamOps \in BOOLEAN /\ ShortNotDrained \in BOOLEAN /\ Urgent \in BOOLEAN
       /\ Sticky \in BOOLEAN
       /\ Mutant \in Mutants

(* Task statuses, as the scheduler sees them (Scheduler.tla abstracted to  *)
(* what a waker does): Idle = parked, only a wake brings it back.          *)
Statuses == {"Scheduled", "Running", "Idle", "Done"}

(* Where a running task is in one poll of its I/O future (poll_io's loop). *)
PCs == {"check",    \* next: poll_ready's fast-path load           (CheckReady)
        "op",       \* next: the SHUTDOWN test + the operation     (TryOp)
        "clear",    \* next: the tick-guarded clear after WouldBlock (ClearReadiness)
        "clearShort", \* next: the same clear after a short stream transfer
                    \*                                         (ClearReadiness)
        "park",     \* next: the lock section after a successful clear
                    \*                                         (ParkAfterClear)
        "register", \* next: poll_ready's lock section             (Register)
        "ret",      \* poll returned Pending; next: transition_to_idle (PollPending)
        "off"}      \* not running (Scheduled, Idle or Done)

\* every report consumes >= 1 arrival or hang-up
MaxTick == (Arrivals + (IF Sticky THEN 1 ELSE 0)) * Cardinality(D)

(* Snapshot::is_ready of a word value with bits `rd`, sticky closed bits   *)
(* `st` and SHUTDOWN `sh`: READ_MASK / WRITE_MASK (ERROR not modelled: it  *)
(* is reported only with both direction bits and cleared with either, so   *)
(* it never makes a direction ready that `rd` does not; README).           *)
IsReady(rd, st, sh, d) == d \in rd \/ d \in st \/ sh

VARIABLES
    \* ---- the kernel ----
    avail,      \* [D -> Nat] bytes to read ("r") / buffer space to write ("w")
    edge,       \* SUBSET D: edges the kernel has and the reactor has not collected
    mark,       \* BOOLEAN: the reader's data holds an urgent mark not passed yet
    edgePri,    \* BOOLEAN: an uncollected edge came with urgent data (EPOLLPRI)
    hup,        \* SUBSET D: directions closed in the kernel (Sticky only)
    \* ---- the readiness word (one AtomicUsize) ----
    ready,      \* SUBSET D: READABLE / WRITABLE bits
    shut,       \* BOOLEAN: SHUTDOWN bit
    urgent,     \* BOOLEAN: URGENT bit (sticky: some report carried EPOLLPRI)
    sticky,     \* SUBSET D: READ_CLOSED / WRITE_CLOSED bits (sticky)
    tick,       \* Nat: counts reports (wrapping in the code, never here)
    \* ---- ScheduledIo::waiters (behind the Mutex) ----
    waker,      \* [D -> BOOLEAN]: the slot of direction d holds the task's waker
    \* ---- the reactor thread (the sched-role holder in poll_and_dispatch) ----
    rpc,        \* "idle" | "dispatch" (reported, lock section next) | "wake"
    rready,     \* SUBSET D: the directions that the value `report` returned
                \*   makes ready (all Dispatch looks at; {} when idle)
    rtaken,     \* SUBSET D: wakers the reactor took and has not woken yet
    \* ---- the closer thread (ScheduledIo::shutdown) ----
    cpc,        \* "open" | "marked" (SHUTDOWN set, lock section next) | "wake" | "done"
    ctaken,     \* SUBSET D: wakers the closer took and has not woken yet
    \* ---- the task waiting in direction d (reader / writer) ----
    status,     \* [D -> Statuses]
    notified,   \* [D -> BOOLEAN] woken while Running: re-polled after this poll
    pc,         \* [D -> PCs]
    seenTick,   \* [D -> Nat]     tick and SHUTDOWN of the snapshot that
    seenShut,   \* [D -> BOOLEAN] poll_ready returned (reset to 0 / FALSE when
    seenUrg,    \* [D -> BOOLEAN]  ... and its URGENT bit
                \*                 dead, to keep the state space small)
    \* ---- ghosts ----
    arrived,    \* [D -> Nat] arrivals so far (taken so far: arrived - avail)
    failed      \* [D -> BOOLEAN] the task's operation returned the shutdown error

kernelVars == <<avail, edge, mark, edgePri, hup>>
wordVars   == <<ready, shut, tick, urgent, sticky>>
reactVars  == <<rpc, rready, rtaken>>
closeVars  == <<cpc, ctaken>>
taskVars   == <<status, notified, pc, seenTick, seenShut, seenUrg>>
seen       == <<seenTick, seenShut, seenUrg>>
ghostVars  == <<arrived, failed>>
vars == <<kernelVars, wordVars, waker, reactVars, closeVars, taskVars, ghostVars>>

Received(d) == arrived[d] - avail[d]

-----------------------------------------------------------------------------
Init ==
    /\ avail = [d \in D |-> 0]  /\ edge = {}  /\ mark = FALSE  /\ edgePri = FALSE
    /\ hup = {}
    /\ ready = {}  /\ shut = FALSE  /\ tick = 0  /\ urgent = FALSE  /\ sticky = {}
    /\ waker = [d \in D |-> FALSE]
    /\ rpc = "idle"  /\ rready = {}  /\ rtaken = {}
    /\ cpc = "open"  /\ ctaken = {}
    /\ status   = [d \in D |-> "Scheduled"]      \* spawned, about to be polled
    /\ notified = [d \in D |-> FALSE]
    /\ pc       = [d \in D |-> "off"]
    /\ seenTick = [d \in D |-> 0]
    /\ seenShut = [d \in D |-> FALSE]
    /\ seenUrg  = [d \in D |-> FALSE]
    /\ arrived  = [d \in D |-> 0]
    /\ failed   = [d \in D |-> FALSE]

-----------------------------------------------------------------------------
(***************************************************************************)
(* Waker::wake of the task of direction d, as the scheduler answers it     *)
(* (State::transition_to_notified): Idle -> Scheduled; Running -> notified *)
(* (re-polled when the poll returns); Scheduled / Done: nothing.           *)
(***************************************************************************)
WakeTasks(S) ==
    /\ status'   = [d \in D |-> IF d \in S /\ status[d] = "Idle"
                                   THEN "Scheduled" ELSE status[d]]
    /\ notified' = [d \in D |-> IF d \in S /\ status[d] = "Running"
                                   THEN TRUE ELSE notified[d]]

-----------------------------------------------------------------------------
(* ---------------------------- environment ------------------------------ *)

(* The kernel receives bytes ("r") or frees send-buffer space ("w") and    *)
(* leaves an edge for epoll.  MockIo::deliver: the fetch_add on available. *)
Arrive(d) ==
    /\ arrived[d] < Arrivals
    /\ arrived' = [arrived EXCEPT ![d] = @ + 1]
    /\ avail'   = [avail EXCEPT ![d] = @ + 1]
    /\ edge'    = edge \cup {d}
    /\ UNCHANGED <<mark, edgePri, hup, wordVars, waker, reactVars, closeVars, taskVars, failed>>

(* TCP urgent data (the peer's send(MSG_OOB)) arrives for the reader: bytes *)
(* and an urgent mark among them.  The kernel's tcp_urg() calls             *)
(* sk_data_ready for it, so it leaves an edge, and tcp_poll() reports       *)
(* EPOLLPRI while the mark is valid, so the report that collects that edge  *)
(* carries PRI.  (Modelled conservatively: only this arrival's own edge     *)
(* carries PRI, not an earlier edge collected after it.)                    *)
ArriveUrgent ==
    /\ Urgent /\ "r" \in D
    /\ ~mark
    /\ arrived["r"] < Arrivals
    /\ arrived' = [arrived EXCEPT !["r"] = @ + 1]
    /\ avail'   = [avail EXCEPT !["r"] = @ + 1]
    /\ edge'    = edge \cup {"r"}
    /\ mark'    = TRUE
    /\ edgePri' = TRUE
    /\ UNCHANGED <<hup, wordVars, waker, reactVars, closeVars, taskVars, failed>>

(* Direction d is closed in the kernel: the peer hung up, or the socket was  *)
(* shut down (RDHUP for "r"; for "w", EPOLLHUP, or EPOLLERR with EPOLLOUT,  *)
(* which mio reports as write-closed).  It leaves an edge, and every report  *)
(* from then on carries the closed flag.  The operation is not changed: it  *)
(* may still return WouldBlock with nothing available (the worst case: UDP *)
(* recv after shutdown(SHUT_RD); a TCP read would return EOF instead).      *)
HangUp(d) ==
    /\ Sticky /\ d \notin hup
    /\ hup'  = hup \cup {d}
    /\ edge' = edge \cup {d}
    /\ UNCHANGED <<avail, mark, edgePri, wordVars, waker, reactVars, closeVars, taskVars, ghostVars>>

(* ---------------------------- the reactor ------------------------------ *)

(* ReadinessWord::report (the CAS loop: bits |= event, tick += 1), called   *)
(* by ScheduledIo::report for an event that poll_and_dispatch collected    *)
(* from epoll_wait.  All edges not collected yet are reported at once.     *)
Report ==
    /\ rpc = "idle" /\ edge # {}
    /\ ready' = ready \cup edge
    /\ sticky' = sticky \cup hup     \* the closed flags are level: all of them
    /\ tick'  = tick + 1
    /\ edge'  = {}
    /\ urgent' = (urgent \/ edgePri)
    /\ edgePri' = FALSE
    /\ rready' = IF Mutant = "DispatchStaleSnapshot"
                   THEN {d \in D : IsReady(ready, sticky, shut, d)}        \* the value before
                   ELSE {d \in D : IsReady(ready \cup edge, sticky \cup hup, shut, d)}
    /\ rpc'   = "dispatch"
    /\ UNCHANGED <<avail, mark, hup, shut, waker, rtaken, closeVars, taskVars, ghostVars>>

(* ScheduledIo::report, the section under the `waiters` lock: take the     *)
(* waker of every direction that the reported value makes ready.           *)
Dispatch ==
    /\ rpc = "dispatch"
    /\ LET S == {d \in rready : waker[d]}
       IN /\ rtaken' = S
          /\ waker'  = [d \in D |-> IF d \in S THEN FALSE ELSE waker[d]]
    /\ rpc' = "wake"
    /\ rready' = {}
    /\ UNCHANGED <<kernelVars, wordVars, closeVars, taskVars, ghostVars>>

(* ScheduledIo::report, after the lock: `wake()` on the wakers it took      *)
(* (invariant 3: outside the lock).  One step for both: each wake is one   *)
(* RMW on a different task's state word, so their order does not matter.  *)
DispatchWake ==
    /\ rpc = "wake"
    /\ WakeTasks(rtaken)
    /\ rtaken' = {}
    /\ rpc' = "idle"
    /\ UNCHANGED <<kernelVars, wordVars, waker, rready, closeVars, pc, seen, ghostVars>>

(* ----------------------------- the closer ------------------------------ *)

(* ReadinessWord::shutdown (fetch_or SHUTDOWN), called by                    *)
(* ScheduledIo::shutdown (Registration::deregister, Reactor::shutdown,     *)
(* MockIo::close).  One closer: a second one finds SHUTDOWN set and returns *)
(* at once, which changes nothing.                                         *)
Close ==
    /\ cpc = "open"
    /\ shut' = TRUE
    /\ cpc'  = IF Mutant = "CloseWithoutWake" THEN "done" ELSE "marked"
    /\ UNCHANGED <<kernelVars, ready, tick, urgent, sticky, waker, reactVars, ctaken, taskVars, ghostVars>>

(* ScheduledIo::shutdown, the section under the `waiters` lock: take both   *)
(* wakers.                                                                  *)
CloseDispatch ==
    /\ cpc = "marked"
    /\ ctaken' = {d \in D : waker[d]}
    /\ waker'  = [d \in D |-> FALSE]
    /\ cpc' = "wake"
    /\ UNCHANGED <<kernelVars, wordVars, reactVars, taskVars, ghostVars>>

(* ScheduledIo::shutdown, after the lock: wake them. *)
CloseWake ==
    /\ cpc = "wake"
    /\ WakeTasks(ctaken)
    /\ ctaken' = {}
    /\ cpc' = "done"
    /\ UNCHANGED <<kernelVars, wordVars, waker, reactVars, pc, seen, ghostVars>>

(* ---------------------- the task of direction d ------------------------ *)

(* A worker starts polling the task (Scheduler.tla: StartPoll).  The I/O    *)
(* future (MockIo::read = poll_fn over ScheduledIo::poll_io) starts its    *)
(* loop at poll_ready.                                                     *)
Poll(d) ==
    /\ status[d] = "Scheduled"
    /\ status'   = [status EXCEPT ![d] = "Running"]
    /\ notified' = [notified EXCEPT ![d] = FALSE]
    /\ pc'       = [pc EXCEPT ![d] = "check"]
    /\ UNCHANGED <<kernelVars, wordVars, waker, reactVars, closeVars, seen, ghostVars>>

(* poll_ready returns Ready(snapshot): remember what clear needs of it. *)
Observe(d) ==
    /\ seenTick' = [seenTick EXCEPT ![d] = tick]
    /\ seenShut' = [seenShut EXCEPT ![d] = shut]
    /\ seenUrg'  = [seenUrg EXCEPT ![d] = urgent]
Forget(d) ==
    /\ seenTick' = [seenTick EXCEPT ![d] = 0]
    /\ seenShut' = [seenShut EXCEPT ![d] = FALSE]
    /\ seenUrg'  = [seenUrg EXCEPT ![d] = FALSE]

(* ScheduledIo::poll_ready, fast path: ReadinessWord::load; ready -> the     *)
(* snapshot goes to the operation, else the slow path.                      *)
CheckReady(d) ==
    /\ status[d] = "Running" /\ pc[d] = "check"
    /\ IF IsReady(ready, sticky, shut, d)
         THEN /\ pc' = [pc EXCEPT ![d] = "op"]
              /\ Observe(d)
         ELSE /\ pc' = [pc EXCEPT ![d] = "register"]
              /\ UNCHANGED seen
    /\ UNCHANGED <<kernelVars, wordVars, waker, reactVars, closeVars,
                   status, notified, ghostVars>>

(* ScheduledIo::poll_ready, slow path: the whole section under the          *)
(* `waiters` lock: store the waker, re-read the word (invariant 2).  Ready  *)
(* -> the operation (the stored waker stays: a later report wakes the task *)
(* spuriously); else the poll returns Pending.  One step: the only things  *)
(* that change the word outside the lock (Report, Close) commute with the  *)
(* store, which nobody can see before the unlock.                          *)
Register(d) ==
    /\ status[d] = "Running" /\ pc[d] = "register"
    /\ waker' = [waker EXCEPT ![d] = TRUE]
    /\ IF IsReady(ready, sticky, shut, d) /\ Mutant # "NoRecheck"
         THEN /\ pc' = [pc EXCEPT ![d] = "op"]
              /\ Observe(d)
         ELSE /\ pc' = [pc EXCEPT ![d] = "ret"]
              /\ UNCHANGED seen
    /\ UNCHANGED <<kernelVars, wordVars, reactVars, closeVars,
                   status, notified, ghostVars>>

(* ScheduledIo::poll_io: the `seen.has(SHUTDOWN)` test (local), then the    *)
(* operation itself: MockIo::try_read (available.swap(0)) for the reader;  *)
(* the writer's non-blocking write fills the buffer space alike.  Success  *)
(* completes this read/write; the task's code then calls the next one in   *)
(* the same poll (it loops until the shutdown error).                      *)
(*                                                                         *)
(* With StreamOps: ScheduledIo::poll_stream_io.  The operation takes k of   *)
(* the avail units; it is "short" (0 < n < want) if the caller asked for    *)
(* more.  A short transfer goes to ClearReadiness with its snapshot, as a   *)
(* WouldBlock does, and then returns Ok.  Without ShortNotDrained a short   *)
(* transfer takes everything (the premise of poll_stream_io), except a TCP  *)
(* read that stops at an urgent mark (Urgent; the next read passes it).     *)
(* A short read clears only if its snapshot has no URGENT (a short write    *)
(* always): TcpStream::poll_read_priv's `exhausted`.  With d in hup and     *)
(* nothing available the operation returns WouldBlock, as without.        *)
TryOp(d) ==
    /\ status[d] = "Running" /\ pc[d] = "op"
    /\ IF seenShut[d]
         THEN \* Err(gone()): the task finishes
              /\ failed' = [failed EXCEPT ![d] = TRUE]
              /\ status' = [status EXCEPT ![d] = "Done"]
              /\ pc'     = [pc EXCEPT ![d] = "off"]
              /\ Forget(d)
              /\ UNCHANGED <<avail, mark>>
         ELSE IF avail[d] > 0
         THEN \* Ok(n): next read/write, from the top of poll_io
              \E k \in 1..avail[d], short \in BOOLEAN :
                 /\ ~StreamOps => k = avail[d] /\ ~short
                 /\ short /\ k < avail[d] => ShortNotDrained \/ (mark /\ d = "r")
                 /\ avail' = [avail EXCEPT ![d] = @ - k]
                 /\ mark' = IF d = "r" /\ short /\ k < avail[d] THEN FALSE
                            ELSE IF d = "r" /\ k = avail[d] THEN FALSE ELSE mark
                 /\ IF short /\ (d = "w" \/ ~seenUrg[d] \/ Mutant = "ShortIgnoresUrgent")
                      THEN \* poll_stream_io: clear at once (then return Ok)
                           /\ pc' = [pc EXCEPT ![d] = "clearShort"]
                           /\ UNCHANGED seen
                      ELSE /\ pc' = [pc EXCEPT ![d] = "check"]
                           /\ Forget(d)
                 /\ UNCHANGED <<status, failed>>
         ELSE \* WouldBlock: keep the snapshot for clear
              /\ pc' = [pc EXCEPT ![d] = "clear"]
              /\ UNCHANGED <<avail, mark, status, failed, seen>>
    /\ UNCHANGED <<edge, edgePri, hup, wordVars, waker, reactVars, closeVars, notified, arrived>>

(* ReadinessWord::clear (via ScheduledIo::clear) after WouldBlock (or, in    *)
(* poll_stream_io, after a short transfer): remove d's bit (and ERROR, not  *)
(* modelled) only if the tick is still the one the snapshot saw; otherwise  *)
(* Stale (a report came in between) and the bit stays.  Stale: poll_io      *)
(* loops back to poll_ready.  Cleared after a WouldBlock: poll_io goes on  *)
(* to ParkAfterClear (scheduled_io.rs invariant 4).  After a short         *)
(* transfer poll_stream_io returns Ok either way; the task's next operation *)
(* starts at poll_ready.  The sticky bits stay (readiness.rs invariant 3).  *)
ClearReadiness(d) ==
    /\ status[d] = "Running" /\ pc[d] \in {"clear", "clearShort"}
    /\ IF tick = seenTick[d] \/ Mutant = "ClearWithoutTick"
         THEN /\ ready' = ready \ {d}
              /\ IF pc[d] = "clear" /\ Mutant # "NoParkGuard"
                   THEN /\ pc' = [pc EXCEPT ![d] = "park"]
                        /\ UNCHANGED seen
                   ELSE /\ pc' = [pc EXCEPT ![d] = "check"]
                        /\ Forget(d)
         ELSE /\ UNCHANGED ready
              /\ pc' = [pc EXCEPT ![d] = "check"]
              /\ Forget(d)
    /\ UNCHANGED <<kernelVars, shut, tick, urgent, sticky, waker, reactVars, closeVars,
                   status, notified, ghostVars>>

(* ScheduledIo::poll_park_after_clear: the section under the `waiters` lock *)
(* after a WouldBlock whose clear succeeded: store the waker, re-read the   *)
(* word.  A report since the snapshot (the tick moved) or SHUTDOWN: retry   *)
(* from poll_ready.  Otherwise the poll returns Pending, even if a sticky   *)
(* bit keeps d ready (scheduled_io.rs invariant 4): the next report wakes   *)
(* the task.  One step, for Register's reasons.                             *)
ParkAfterClear(d) ==
    /\ status[d] = "Running" /\ pc[d] = "park"
    /\ waker' = [waker EXCEPT ![d] = TRUE]
    /\ pc' = [pc EXCEPT ![d] = IF tick # seenTick[d] \/ shut THEN "check" ELSE "ret"]
    /\ Forget(d)
    /\ UNCHANGED <<kernelVars, wordVars, reactVars, closeVars,
                   status, notified, ghostVars>>

(* The poll returned Pending: State::transition_to_idle (Scheduler.tla:     *)
(* PollPending).  A wake during the poll makes it run again.               *)
PollPending(d) ==
    /\ status[d] = "Running" /\ pc[d] = "ret"
    /\ status'   = [status EXCEPT ![d] = IF notified[d] THEN "Scheduled" ELSE "Idle"]
    /\ notified' = [notified EXCEPT ![d] = FALSE]
    /\ pc'       = [pc EXCEPT ![d] = "off"]
    /\ UNCHANGED <<kernelVars, wordVars, waker, reactVars, closeVars, seen, ghostVars>>

-----------------------------------------------------------------------------
(* Everything is over: the source was closed, every task got its error,    *)
(* nothing is left to arrive or to report.  Explicit stuttering, so TLC's  *)
(* deadlock check stays on: any other state without a successor (after     *)
(* Close, since Close is enabled before it) is a task left hanging.         *)
Finished ==
    /\ cpc = "done" /\ rpc = "idle" /\ edge = {}
    /\ \A d \in D : arrived[d] = Arrivals /\ status[d] = "Done"

Terminated == Finished /\ UNCHANGED vars

TaskNext(d) ==
    \/ Poll(d) \/ CheckReady(d) \/ Register(d) \/ TryOp(d)
    \/ ClearReadiness(d) \/ ParkAfterClear(d) \/ PollPending(d)

Next ==
    \/ \E d \in D : Arrive(d) \/ HangUp(d) \/ TaskNext(d)
    \/ ArriveUrgent
    \/ Report \/ Dispatch \/ DispatchWake
    \/ Close \/ CloseDispatch \/ CloseWake
    \/ Terminated

(***************************************************************************)
(* Fairness: weak fairness on every step a thread takes by itself: the     *)
(* reactor (an edge in the kernel is eventually collected: the sched-role  *)
(* holder polls epoll every round), the closer once it has started, the    *)
(* workers (a Scheduled task is eventually polled) and the task's own      *)
(* steps.  The environment (Arrive, HangUp, Close) has none: data need not *)
(* arrive, the peer need not hang up, and the source need not be closed.   *)
(***************************************************************************)
Fairness ==
    /\ WF_vars(Report) /\ WF_vars(Dispatch) /\ WF_vars(DispatchWake)
    /\ WF_vars(CloseDispatch) /\ WF_vars(CloseWake)
    /\ \A d \in D : WF_vars(TaskNext(d))

Spec     == Init /\ [][Next]_vars
LiveSpec == Spec /\ Fairness

-----------------------------------------------------------------------------
(***************************************************************************)
(* Safety properties (INVARIANTS).                                          *)
(***************************************************************************)

TypeOK ==
    /\ avail \in [D -> 0..Arrivals] /\ edge \subseteq D
    /\ mark \in BOOLEAN /\ edgePri \in BOOLEAN /\ urgent \in BOOLEAN
    /\ hup \subseteq D /\ sticky \subseteq hup
    /\ edgePri => "r" \in edge
    /\ ready \subseteq D /\ shut \in BOOLEAN /\ tick \in 0..MaxTick
    /\ waker \in [D -> BOOLEAN]
    /\ rpc \in {"idle", "dispatch", "wake"} /\ rready \subseteq D /\ rtaken \subseteq D
    /\ cpc \in {"open", "marked", "wake", "done"} /\ ctaken \subseteq D
    /\ status \in [D -> Statuses] /\ notified \in [D -> BOOLEAN]
    /\ pc \in [D -> PCs]
    /\ seenTick \in [D -> 0..MaxTick] /\ seenShut \in [D -> BOOLEAN]
    /\ seenUrg \in [D -> BOOLEAN]
    /\ arrived \in [D -> 0..Arrivals] /\ failed \in [D -> BOOLEAN]

(* Bookkeeping: the kernel holds no more than what arrived. *)
Conservation == \A d \in D : avail[d] <= arrived[d]

(* A running task has a place in its poll, and only a running one.  (No    *)
(* exclusivity of wakers: the slot may hold a new clone while the reactor  *)
(* still holds the one it took: the task re-registered in between.)        *)
PcOK == \A d \in D : (status[d] = "Running") = (pc[d] # "off")

(* A wake is on its way to the task of direction d: an uncollected edge     *)
(* (the reactor will report it and then take the waker), a report whose     *)
(* lock section is still to come and will find d ready, a waker taken and   *)
(* not woken yet, or a close whose lock section is still to come.           *)
WakeComing(d) ==
    \/ d \in edge
    \/ rpc = "dispatch" /\ d \in rready
    \/ d \in rtaken
    \/ cpc = "marked"
    \/ d \in ctaken

(* NoLostEdge (readiness.rs invariant 2): data that is in the kernel is     *)
(* always covered: by an edge the reactor has not reported yet, by d's bit  *)
(* in the word (so the next poll_ready returns at once), or by SHUTDOWN     *)
(* (the source is gone, the operation fails).  A clear that removed the bit *)
(* of an edge that arrived after the operation's WouldBlock breaks this.    *)
NoLostEdge ==
    \A d \in D : avail[d] > 0 => d \in edge \/ d \in ready \/ shut

(* NoLostWakeup (scheduled_io.rs invariant 2): a parked task (Idle: only a   *)
(* wake brings it back) has its waker registered, and if there is data for  *)
(* it or the source is shut down, a wake is on its way.                     *)
NoLostWakeup ==
    \A d \in D : status[d] = "Idle" =>
        /\ waker[d] \/ d \in rtaken \/ d \in ctaken
        /\ (avail[d] > 0 \/ shut) => WakeComing(d)

(* A task fails only after the source was shut down, and only then. *)
FailsOnlyAfterClose == \A d \in D : failed[d] => shut

-----------------------------------------------------------------------------
(***************************************************************************)
(* Liveness properties (PROPERTIES, with LiveSpec).                         *)
(***************************************************************************)

(* Whatever arrives is eventually taken by the task's operation, unless the *)
(* source is closed first (then the operation fails instead).               *)
DataEventuallyRead ==
    \A d \in D : \A k \in 1..Arrivals :
        (arrived[d] >= k) ~> (Received(d) >= k \/ failed[d])

(* Close never leaves a task hanging: every task gets its error. *)
CloseNeverHangs ==
    shut ~> (\A d \in D : failed[d])

(* A parked task does not stay parked while there is data for it. *)
ParkedWithDataWakes ==
    \A d \in D : (status[d] = "Idle" /\ avail[d] > 0) ~> (status[d] # "Idle")

(* Every poll ends: a running task eventually returns Pending or finishes  *)
(* (no retry loop inside one poll; scheduled_io.rs invariant 4).  With      *)
(* Sticky and NoParkGuard, TLC finds the loop CheckReady, TryOp            *)
(* (WouldBlock), ClearReadiness on a hung-up direction.                    *)
PollReturns ==
    \A d \in D : (status[d] = "Running") ~> (status[d] # "Running")

=============================================================================
