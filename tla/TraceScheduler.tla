--------------------------- MODULE TraceScheduler ---------------------------
(***************************************************************************)
(* Trace validation against the TLA+ text: is a trace recorded from a real *)
(* loom/shuttle execution of tempo (src/trace/mod.rs) a behaviour of       *)
(* Scheduler.tla?                                                          *)
(*                                                                         *)
(* Log is the recorded sequence of observed steps (each names a Scheduler  *)
(* action, its task, and -- when chk -- the task's state word after the    *)
(* step, projected on the spec's variables).  Steps the code does not      *)
(* trace (the sched role's acquire/take/release/park, pops, worker parking,*)
(* notifications, time) are "hidden": any number of them may fall between *)
(* two observed steps, and TLC searches for a choice that makes the whole  *)
(* log fit.  NotFullyMatched is violated exactly when the log is matched   *)
(* to its end: tla/check_traces.sh reports that violation as success, and  *)
(* a search that ends without it as a trace the spec does not allow.       *)
(***************************************************************************)
EXTENDS Scheduler

CONSTANT Log

VARIABLE i        \* the next log entry to match

(* The task's state after the step equals the recorded one. *)
(* An IF, not a disjunction: TLC explores both disjuncts of a next-state   *)
(* formula, and an unchecked entry (ShutdownBegin) has no task (t = 0).    *)
Match(e) ==
    IF e.chk
    THEN /\ status'[e.t]    = e.st
         /\ notified'[e.t]  = e.nt
         /\ cancelled'[e.t] = e.ca
         /\ woken'[e.t]     = e.wo
         /\ signaled'[e.t]  = e.si
    ELSE TRUE

(* The Scheduler action an observed entry names (the worker is not logged: *)
(* any worker whose hand holds the task, or the sched-role holder; for an  *)
(* event, any actor: a worker whose next-run slot takes the task, or none). *)
Observed(e) ==
    CASE e.a = "SpawnRegister" -> SpawnRegister(e.t)
      [] e.a = "SpawnLocal"    -> \E w \in W : SpawnLocal(e.t, w)
      [] e.a = "SpawnSlot"     -> \E w \in W : SpawnSlot(e.t, w)
      [] e.a = "Wake"          -> \E w \in W \cup {NoWorker} : Wake(e.t, w)
      [] e.a = "Wakeup"        -> \E w \in W \cup {NoWorker} : Wakeup(e.t, w)
      [] e.a = "Signal"        -> \E w \in W \cup {NoWorker} : Signal(e.t, w)
      [] e.a = "Abort"         -> \E w \in W \cup {NoWorker} : Abort(e.t, w)
      [] e.a = "PushFront"     -> PushFront(e.t)
      [] e.a = "StartPoll"     -> \E w \in W : hand[w] = e.t /\ StartPoll(w)
      [] e.a = "ReceiveSignal" -> \E w \in W : hand[w] = e.t /\ ReceiveSignal(w)
      [] e.a = "ConsumeWoken"  -> \E w \in W : hand[w] = e.t /\ ConsumeWoken(w)
      [] e.a = "PollPending"   -> \E w \in W : hand[w] = e.t /\ PollPending(w)
      [] e.a = "Complete"      -> \E w \in W : hand[w] = e.t /\ (PollReady(w) \/ FinishCancel(w))
      [] e.a = "SchedDispatch" -> \E w \in W : local # <<>> /\ Head(local) = e.t /\ SchedDispatch(w)
      [] e.a = "SchedExpire"   -> \E w \in W : SchedExpire(w, e.t)
      [] e.a = "ShutdownSweep" -> ShutdownSweep(e.t)
      [] e.a = "ShutdownBegin" -> ShutdownBegin
      \* The monitor's steal (sched/watch.rs): the slot's task, the first task
      \* of the share it took, or (no task) the fill of its own share.
      [] e.a = "StealSlot"     -> \E w, v \in W : slot[w] = e.t /\ StealSlot(w, v)
      [] e.a = "StealShare"    -> \E w, v \in W : share[w] # <<>> /\ Head(share[w]) = e.t
                                                 /\ StealShare(w, v)
      [] e.a = "StealFill"     -> \E v \in W : StealFill(v)

(* Steps the code does not trace. *)
Hidden ==
    \/ \E w \in W : \/ SchedAcquire(w) \/ SchedTakeFront(w) \/ SchedRelease(w)
                    \/ SchedPark(w) \/ DriverBlock(w) \/ DriverTimeout(w)
                    \/ WorkerPop(w) \/ WorkerTakeShare(w)
                    \/ WorkerTakeSlot(w) \/ SlotFlush(w) \/ RerunFlush(w)
                    \/ SchedBusy(w) \/ WorkerTakeRerun(w) \/ SlotUnkeep(w)
                    \/ WorkerPark(w) \/ WorkerExit(w)
    \/ \E t \in T : NotifySched(t) \/ Tick(t)
    \/ FrontClose

TraceInit == Init /\ i = 1

TraceNext ==
    \/ /\ i <= Len(Log)
       /\ Observed(Log[i])
       /\ Match(Log[i])
       /\ i' = i + 1
    \/ /\ Hidden
       /\ UNCHANGED i

NotFullyMatched == i <= Len(Log)
=============================================================================
