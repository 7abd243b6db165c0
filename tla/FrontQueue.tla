------------------------------ MODULE FrontQueue ------------------------------
(***************************************************************************)
(* The front queue of tempo (src/sched/front.rs), instruction by           *)
(* instruction: an intrusive Treiber stack with many producers            *)
(* (FrontQueue::push), one consumer that swaps the whole chain out and     *)
(* reverses it (FrontQueue::take_all, run by the sched-role holder), and   *)
(* FrontQueue::close (the shutdown thread, Shared::finish_shutdown).       *)
(*                                                                         *)
(* One action = one atomic instruction on shared memory: a load, a store,  *)
(* a CAS or a swap of `head`, or the plain write / read of one node's      *)
(* `queue_next`.  Thread-local work (the CLOSED test, the reversal of the  *)
(* batch, returning the result) is folded into the adjacent shared step;   *)
(* no other thread can observe the difference.                             *)
(*                                                                         *)
(* Memory model: TLA+ interleaving is sequential consistency.  The code's  *)
(* head operations are SeqCst RMWs except two Relaxed loads (the first     *)
(* load in push, the emptiness pre-check in take_all); see README.md       *)
(* ("Queue specs") for why modelling them as SC reads loses nothing.       *)
(* The `queue_next` accesses are plain (non-atomic); the Release CAS /     *)
(* Acquire swap pair (and the release sequence formed by later push CASes) *)
(* make every write to `queue_next` of a published node visible to the     *)
(* consumer, so the only way to read a stale `next` is to read it before   *)
(* it was written -- which the ghost `unwrittenRead` records.              *)
(*                                                                         *)
(* Nodes are items: each producer p pushes the distinct items              *)
(* <<p,1>>, ..., <<p,K>> in this order.                                    *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Prod,        \* producer threads (any thread calling Shared::push_front)
    K,           \* items each producer pushes, in order
    Null,        \* model value: the null pointer
    Closed,      \* model value: the CLOSED sentinel
    Unwritten,   \* model value: a queue_next never written for this push
    WithClose,   \* BOOLEAN: the shutdown thread runs FrontQueue::close once
    Straggler,   \* BOOLEAN: take_all may run concurrently with or after close
                 \*   (a worker still running after shutdown_timeout: nothing
                 \*   stops it from taking the role once more).  FALSE: the
                 \*   consumer has stopped before close begins (all workers
                 \*   joined, the normal shutdown).
    FixTakeAll,  \* BOOLEAN: proposed fix of take_all (a CAS loop that never
                 \*   replaces CLOSED) instead of the code's swap + store
    Spurious,    \* BOOLEAN: compare_exchange_weak may fail spuriously
    Mutant       \* "none", or an injected bug (see Mutants)

Mutants == {"none",
            "NoReverse",       \* take_all hands the chain out unreversed (LIFO)
            "NextAfterCAS",    \* push writes queue_next after its CAS
            "CloseLosesItem",  \* close = load head, then store CLOSED (no swap)
            "StaleWasEmpty",   \* push reports WasEmpty from its first load,
                               \*   not from the value its CAS replaced
            "TakeLoadStore"}   \* take_all = load head, then store null (no swap)

Items == Prod \X (1..K)
Ptrs  == Items \cup {Null, Closed}

ASSUME /\ K \in Nat \ {0}
       /\ Null \notin Items /\ Closed \notin Items /\ Unwritten \notin Items
       /\ Null # Closed /\ Null # Unwritten /\ Closed # Unwritten
       /\ WithClose \in BOOLEAN /\ Straggler \in BOOLEAN
       /\ FixTakeAll \in BOOLEAN /\ Spurious \in BOOLEAN
       /\ Mutant \in Mutants

VARIABLES
    \* ---- shared memory ----
    head,        \* FrontQueue::head
    next,        \* [Items -> Items \cup {Null, Unwritten}]: each node's queue_next
    \* ---- producers: locals of FrontQueue::push ----
    pc,          \* [Prod -> {"load","write","cas","writeAfter","done"}]
    cur,         \* [Prod -> 1..K+1]: index of the item being pushed
    obs,         \* [Prod -> Ptrs]: the local `head` (expected value of the CAS)
    first,       \* [Prod -> Ptrs]: value of the first load (only StaleWasEmpty uses it)
    \* ---- the consumer (sched-role holder): locals of take_all ----
    tpc,         \* "idle" | "swap" | "storeClosed" | "cas" | "walk" | "store"
    tptr,        \* take_all's `p` (or, in "cas"/"store", the loaded head)
    tbatch,      \* nodes walked so far (the `out` tail before the reversal)
    \* ---- the closer (Shared::finish_shutdown): locals of close ----
    cpc,         \* "idle" | "store" | "walk" | "done"
    cptr,        \* close's `p`
    cbatch,      \* nodes walked so far
    \* ---- ghosts ----
    status,      \* [Items -> {"owned","queued","out","refused"}]
    res,         \* [Items -> {"none","WasEmpty","Behind","Closed"}]: push's result
    fromNull,    \* [Items -> BOOLEAN]: the push's CAS replaced Null
    lin,         \* successful push CASes, in order (the linearisation)
    taken,       \* what take_all handed to the sched role, in order
    closedOut,   \* what close returned, in order
    unwrittenRead, \* some walk read a queue_next that was not written
    freedRead      \* some walk read the queue_next of a node already handed out

vars == <<head, next, pc, cur, obs, first, tpc, tptr, tbatch, cpc, cptr, cbatch,
          status, res, fromNull, lin, taken, closedOut, unwrittenRead, freedRead>>

Item(p) == <<p, cur[p]>>

Init ==
    /\ head = Null
    /\ next = [n \in Items |-> Unwritten]
    /\ pc = [p \in Prod |-> "load"]
    /\ cur = [p \in Prod |-> 1]
    /\ obs = [p \in Prod |-> Null]
    /\ first = [p \in Prod |-> Null]
    /\ tpc = "idle" /\ tptr = Null /\ tbatch = <<>>
    /\ cpc = "idle" /\ cptr = Null /\ cbatch = <<>>
    /\ status = [n \in Items |-> "owned"]
    /\ res = [n \in Items |-> "none"]
    /\ fromNull = [n \in Items |-> FALSE]
    /\ lin = <<>> /\ taken = <<>> /\ closedOut = <<>>
    /\ unwrittenRead = FALSE /\ freedRead = FALSE

Range(s) == {s[i] : i \in DOMAIN s}
Reverse(s) == [i \in 1..Len(s) |-> s[Len(s) - i + 1]]

(* The producer is done with its current item: on to the next one.         *)
Advance(p) ==
    /\ cur' = [cur EXCEPT ![p] = @ + 1]
    /\ pc' = [pc EXCEPT ![p] = IF cur[p] = K THEN "done" ELSE "load"]

(***************************************************************************)
(* FrontQueue::push                                                        *)
(***************************************************************************)

(* `let mut head = self.head.load(Relaxed);`                               *)
PLoad(p) ==
    /\ pc[p] = "load"
    /\ obs' = [obs EXCEPT ![p] = head]
    /\ first' = [first EXCEPT ![p] = head]
    /\ pc' = [pc EXCEPT ![p] = "write"]
    /\ UNCHANGED <<head, next, cur, tpc, tptr, tbatch, cpc, cptr, cbatch,
                   status, res, fromNull, lin, taken, closedOut,
                   unwrittenRead, freedRead>>

(* Loop top: `if head == CLOSED { return Pushed::Closed(n) }` (local), then *)
(* the plain write `queue_next = head`.  In NextAfterCAS the write moves    *)
(* after the CAS (PWriteAfter).                                             *)
PWrite(p) ==
    /\ pc[p] = "write"
    /\ IF obs[p] = Closed
         THEN /\ res' = [res EXCEPT ![Item(p)] = "Closed"]
              /\ status' = [status EXCEPT ![Item(p)] = "refused"]
              /\ Advance(p)
              /\ UNCHANGED next
         ELSE /\ next' = IF Mutant = "NextAfterCAS" THEN next
                         ELSE [next EXCEPT ![Item(p)] = obs[p]]
              /\ pc' = [pc EXCEPT ![p] = "cas"]
              /\ UNCHANGED <<res, status, cur>>
    /\ UNCHANGED <<head, obs, first, tpc, tptr, tbatch, cpc, cptr, cbatch,
                   fromNull, lin, taken, closedOut, unwrittenRead, freedRead>>

(* `self.head.compare_exchange_weak(head, node, SeqCst, Relaxed)`:         *)
(* success publishes the node and returns WasEmpty iff the replaced value  *)
(* was null; failure re-reads head (`Err(h) => head = h`) and loops.       *)
PCas(p) ==
    /\ pc[p] = "cas"
    /\ IF head = obs[p]
         THEN LET n == Item(p)
                  wasNull == IF Mutant = "StaleWasEmpty" THEN first[p] = Null
                             ELSE obs[p] = Null
              IN /\ head' = n
                 /\ status' = [status EXCEPT ![n] = "queued"]
                 /\ fromNull' = [fromNull EXCEPT ![n] = (head = Null)]
                 /\ res' = [res EXCEPT ![n] = IF wasNull THEN "WasEmpty" ELSE "Behind"]
                 /\ lin' = Append(lin, n)
                 /\ IF Mutant = "NextAfterCAS"
                      THEN /\ pc' = [pc EXCEPT ![p] = "writeAfter"]
                           /\ UNCHANGED cur
                      ELSE Advance(p)
                 /\ UNCHANGED obs
         ELSE /\ obs' = [obs EXCEPT ![p] = head]
              /\ pc' = [pc EXCEPT ![p] = "write"]
              /\ UNCHANGED <<head, status, fromNull, res, lin, cur>>
    /\ UNCHANGED <<next, first, tpc, tptr, tbatch, cpc, cptr, cbatch,
                   taken, closedOut, unwrittenRead, freedRead>>

(* compare_exchange_weak failing spuriously (head = expected): `head = h`   *)
(* with h = head, and loop.                                                *)
PCasSpurious(p) ==
    /\ Spurious
    /\ pc[p] = "cas"
    /\ head = obs[p]
    /\ pc' = [pc EXCEPT ![p] = "write"]
    /\ UNCHANGED <<head, next, cur, obs, first, tpc, tptr, tbatch, cpc, cptr,
                   cbatch, status, res, fromNull, lin, taken, closedOut,
                   unwrittenRead, freedRead>>

(* Mutant NextAfterCAS only: the write of queue_next after the CAS.        *)
PWriteAfter(p) ==
    /\ pc[p] = "writeAfter"
    /\ next' = [next EXCEPT ![Item(p)] = obs[p]]
    /\ Advance(p)
    /\ UNCHANGED <<head, obs, first, tpc, tptr, tbatch, cpc, cptr, cbatch,
                   status, res, fromNull, lin, taken, closedOut,
                   unwrittenRead, freedRead>>

Producer(p) == PLoad(p) \/ PWrite(p) \/ PCas(p) \/ PCasSpurious(p) \/ PWriteAfter(p)

(***************************************************************************)
(* The walk shared by take_all and close: read the queue_next of node n.   *)
(* `out` of the walking thread is local until the walk ends, so the nodes  *)
(* it collected are handed out (status "out") when the walk reaches null.  *)
(* A read of an unwritten queue_next (it would return a stale pointer from *)
(* an earlier push of this task) ends the walk and is recorded.            *)
(***************************************************************************)
ReadNext(n) == IF next[n] = Unwritten THEN Null ELSE next[n]
BadReads(n) ==
    /\ unwrittenRead' = (unwrittenRead \/ next[n] = Unwritten)
    /\ freedRead' = (freedRead \/ status[n] # "queued")
HandOut(batch) ==
    status' = [m \in Items |-> IF m \in Range(batch) THEN "out" ELSE status[m]]

(* Whether the consumer may start a take_all now.  Without stragglers the   *)
(* sched role is not taken once shutdown's close has begun.                 *)
ConsumerMayStart == Straggler \/ cpc = "idle"

(***************************************************************************)
(* FrontQueue::take_all (the code: load, swap, [store CLOSED], walk).      *)
(***************************************************************************)

(* `if self.head.load(Relaxed).is_null() { return }` (fix: the CAS loop's  *)
(* load, returning on null or CLOSED).                                     *)
TLoad ==
    /\ tpc = "idle"
    /\ ConsumerMayStart
    /\ IF FixTakeAll
         THEN IF head \in {Null, Closed} THEN UNCHANGED <<tpc, tptr>>
              ELSE /\ tpc' = "cas" /\ tptr' = head
         ELSE IF head = Null THEN UNCHANGED <<tpc, tptr>>
              ELSE IF Mutant = "TakeLoadStore"
                     THEN /\ tpc' = "store" /\ tptr' = head
                     ELSE /\ tpc' = "swap" /\ UNCHANGED tptr
    /\ UNCHANGED <<head, next, pc, cur, obs, first, tbatch, cpc, cptr, cbatch,
                   status, res, fromNull, lin, taken, closedOut,
                   unwrittenRead, freedRead>>

(* `let mut p = self.head.swap(null, SeqCst);`  If p == CLOSED the code    *)
(* goes on to store CLOSED back (TStoreClosed).                            *)
TSwap ==
    /\ tpc = "swap"
    /\ head' = Null
    /\ tptr' = head
    /\ tpc' = CASE head = Closed -> "storeClosed"
                [] head = Null   -> "idle"
                [] OTHER         -> "walk"
    /\ tbatch' = <<>>
    /\ UNCHANGED <<next, pc, cur, obs, first, cpc, cptr, cbatch, status, res,
                   fromNull, lin, taken, closedOut, unwrittenRead, freedRead>>

(* `self.head.store(CLOSED, SeqCst); return;`                              *)
TStoreClosed ==
    /\ tpc = "storeClosed"
    /\ head' = Closed
    /\ tpc' = "idle"
    /\ UNCHANGED <<next, pc, cur, obs, first, tptr, tbatch, cpc, cptr, cbatch,
                   status, res, fromNull, lin, taken, closedOut,
                   unwrittenRead, freedRead>>

(* Fix: `compare_exchange(h, null)`; on failure loop back to the load.     *)
TCas ==
    /\ tpc = "cas"
    /\ IF head = tptr
         THEN /\ head' = Null /\ tpc' = "walk" /\ tbatch' = <<>>
         ELSE /\ tpc' = "idle" /\ UNCHANGED <<head, tbatch>>
    /\ UNCHANGED <<next, pc, cur, obs, first, tptr, cpc, cptr, cbatch, status,
                   res, fromNull, lin, taken, closedOut, unwrittenRead, freedRead>>

(* Mutant TakeLoadStore: `head.store(null)` after the load.                *)
TStoreNull ==
    /\ tpc = "store"
    /\ head' = Null
    /\ tpc' = IF tptr = Closed THEN "storeClosed" ELSE "walk"
    /\ tbatch' = <<>>
    /\ UNCHANGED <<next, pc, cur, obs, first, tptr, cpc, cptr, cbatch, status,
                   res, fromNull, lin, taken, closedOut, unwrittenRead, freedRead>>

(* One iteration of `while let Some(nn) = NonNull::new(p)`: read           *)
(* queue_next, `out.push_back`.  At the end (next is null) the reversal    *)
(* `out.make_contiguous()[start..].reverse()` and the return (local).      *)
TWalk ==
    /\ tpc = "walk"
    /\ LET n == tptr
           nb == Append(tbatch, n)
           nx == ReadNext(n)
       IN /\ BadReads(n)
          /\ IF nx = Null
               THEN /\ taken' = taken \o (IF Mutant = "NoReverse" THEN nb ELSE Reverse(nb))
                    /\ HandOut(nb)
                    /\ tpc' = "idle" /\ tptr' = Null /\ tbatch' = <<>>
               ELSE /\ tptr' = nx /\ tbatch' = nb
                    /\ UNCHANGED <<taken, status, tpc>>
    /\ UNCHANGED <<head, next, pc, cur, obs, first, cpc, cptr, cbatch, res,
                   fromNull, lin, closedOut>>

Consumer == TLoad \/ TSwap \/ TStoreClosed \/ TCas \/ TStoreNull \/ TWalk

(***************************************************************************)
(* FrontQueue::close (Shared::finish_shutdown; once).                      *)
(***************************************************************************)

(* `let mut p = self.head.swap(CLOSED, SeqCst);` (CloseLosesItem: a load   *)
(* of head here, the store of CLOSED in CStore).                           *)
CSwap ==
    /\ WithClose
    /\ cpc = "idle"
    /\ Straggler \/ tpc = "idle"
    /\ cptr' = head
    /\ cbatch' = <<>>
    /\ IF Mutant = "CloseLosesItem"
         THEN /\ cpc' = "store" /\ UNCHANGED head
         ELSE /\ head' = Closed
              /\ cpc' = IF head \in Items THEN "walk" ELSE "done"
    /\ UNCHANGED <<next, pc, cur, obs, first, tpc, tptr, tbatch, status, res,
                   fromNull, lin, taken, closedOut, unwrittenRead, freedRead>>

CStore ==
    /\ cpc = "store"
    /\ head' = Closed
    /\ cpc' = IF cptr \in Items THEN "walk" ELSE "done"
    /\ UNCHANGED <<next, pc, cur, obs, first, tpc, tptr, tbatch, cptr, cbatch,
                   status, res, fromNull, lin, taken, closedOut,
                   unwrittenRead, freedRead>>

(* One iteration of `while let Some(nn) = NonNull::new(p).filter(|_| p !=  *)
(* CLOSED)`: read queue_next, `out.push_back`; at the end return `out`     *)
(* (in walk order: the caller drops it, no order is promised).             *)
CWalk ==
    /\ cpc = "walk"
    /\ LET n == cptr
           nb == Append(cbatch, n)
           nx == ReadNext(n)
       IN /\ BadReads(n)
          /\ IF nx = Null
               THEN /\ closedOut' = closedOut \o nb
                    /\ HandOut(nb)
                    /\ cpc' = "done" /\ cptr' = Null /\ cbatch' = <<>>
               ELSE /\ cptr' = nx /\ cbatch' = nb
                    /\ UNCHANGED <<closedOut, status, cpc>>
    /\ UNCHANGED <<head, next, pc, cur, obs, first, tpc, tptr, tbatch, res,
                   fromNull, lin, taken>>

Closer == CSwap \/ CStore \/ CWalk

(* Everything finished: stutter (keeps deadlock checking meaningful).       *)
Terminated ==
    /\ \A p \in Prod : pc[p] = "done"
    /\ tpc = "idle"
    /\ cpc \in {"idle", "done"}
    /\ UNCHANGED vars

Next == (\E p \in Prod : Producer(p)) \/ Consumer \/ Closer \/ Terminated

Spec == Init /\ [][Next]_vars

(* Liveness: every thread that has started an operation finishes it, the   *)
(* consumer keeps taking (WF), and a weak CAS cannot fail spuriously       *)
(* forever (SF on the CAS).  Close itself is optional (no fairness on its  *)
(* start), its walk is fair.                                               *)
Fairness ==
    /\ \A p \in Prod : /\ WF_vars(PLoad(p) \/ PWrite(p) \/ PWriteAfter(p))
                       /\ SF_vars(PCas(p))
    /\ WF_vars(Consumer)
    /\ WF_vars(CStore \/ CWalk)

LiveSpec == Spec /\ Fairness

(***************************************************************************)
(* Properties                                                              *)
(***************************************************************************)
TypeOK ==
    /\ head \in Ptrs
    /\ next \in [Items -> Items \cup {Null, Unwritten}]
    /\ pc \in [Prod -> {"load", "write", "cas", "writeAfter", "done"}]
    /\ cur \in [Prod -> 1..K+1]
    /\ obs \in [Prod -> Ptrs] /\ first \in [Prod -> Ptrs]
    /\ tpc \in {"idle", "swap", "storeClosed", "cas", "store", "walk"}
    /\ tptr \in Ptrs
    /\ cpc \in {"idle", "store", "walk", "done"}
    /\ cptr \in Ptrs
    /\ status \in [Items -> {"owned", "queued", "out", "refused"}]
    /\ res \in [Items -> {"none", "WasEmpty", "Behind", "Closed"}]
    /\ fromNull \in [Items -> BOOLEAN]
    /\ unwrittenRead \in BOOLEAN /\ freedRead \in BOOLEAN

(* The logical link of node n: its queue_next, or, while a NextAfterCAS    *)
(* producer has published n but not yet written the link, the value it is  *)
(* about to write (so that NoLoss does not fire before the real bug).      *)
Link(n) ==
    IF next[n] # Unwritten THEN next[n]
    ELSE IF \E p \in Prod : pc[p] = "writeAfter" /\ Item(p) = n
         THEN obs[CHOOSE p \in Prod : pc[p] = "writeAfter" /\ Item(p) = n]
         ELSE Null

(* The chain from pointer x (bounded, so that a cycle shows up as a        *)
(* duplicate instead of looping).                                          *)
RECURSIVE ChainFrom(_, _)
ChainFrom(x, fuel) ==
    IF x \in Items /\ fuel > 0 THEN <<x>> \o ChainFrom(Link(x), fuel - 1) ELSE <<>>
Chain(x) == ChainFrom(x, Cardinality(Items) + 1)

(* Every place an item can be in: reachable from head, in the consumer's   *)
(* or the closer's hands (walked, or still to walk from its `p`), or       *)
(* handed out.  A thread that has loaded head but not yet swapped it out   *)
(* (TakeLoadStore, CloseLosesItem) does not own that chain yet.            *)
Places ==
    Chain(head)
    \o (IF tpc = "walk" THEN tbatch \o Chain(tptr) ELSE <<>>)
    \o (IF cpc = "walk" THEN cbatch \o Chain(cptr) ELSE <<>>)
    \o taken \o closedOut

Count(n, s) == Cardinality({i \in DOMAIN s : s[i] = n})

(* Every item whose push succeeded (its CAS published it) is somewhere.     *)
NoLoss ==
    LET pl == Places IN
    \A n \in Items : status[n] \in {"queued", "out"} => Count(n, pl) >= 1

(* No item is in two places (in particular: taken twice, or taken and      *)
(* returned by close), and an item whose push returned Closed (or that is  *)
(* not pushed yet) is in no place: the producer still owns it.             *)
NoDup ==
    LET pl == Places IN
    \A n \in Items : /\ Count(n, pl) <= 1
                     /\ status[n] \in {"owned", "refused"} => Count(n, pl) = 0

(* Each item is handed out exactly once, at the end: when nobody is in the *)
(* middle of an operation, every published item is in `taken`, in          *)
(* `closedOut` or still reachable from head.                               *)
ItemsAccounted ==
    (/\ \A p \in Prod : pc[p] = "done"
     /\ tpc = "idle" /\ cpc \in {"idle", "done"})
    => \A n \in Items :
         status[n] \in {"queued", "out"} <=>
             Count(n, Chain(head) \o taken \o closedOut) = 1

(* FIFO per producer: one producer's items leave take_all in push order.   *)
FIFOPerProducer ==
    \A i, j \in 1..Len(taken) :
        (i < j /\ taken[i][1] = taken[j][1]) => taken[i][2] < taken[j][2]

(* Stronger (the module doc's claim): take_all hands items out in          *)
(* linearisation order (the order of the successful CASes), across         *)
(* producers and across batches.                                           *)
Pos(s, x) == CHOOSE i \in DOMAIN s : s[i] = x
FIFOLinearisation ==
    \A i, j \in 1..Len(taken) : i < j => Pos(lin, taken[i]) < Pos(lin, taken[j])

(* The walk never reads a queue_next that was not written for this push... *)
NoUnwrittenRead == ~unwrittenRead

(* ... nor one of a node that was already handed out (which the runtime    *)
(* may have freed, or re-pushed with a new queue_next).                    *)
NoFreedRead == ~freedRead

(* push returns WasEmpty exactly when its CAS replaced null.               *)
WasEmptyExact ==
    \A n \in Items : status[n] \in {"queued", "out"} =>
        (res[n] = "WasEmpty" <=> fromNull[n])

(* What the notification protocol (Shared::push_front / notify_sched)      *)
(* relies on: a non-empty queue always contains the node whose push        *)
(* returned WasEmpty, i.e. the notification for the current chain is owed  *)
(* by a push that has published it (the bottom of the chain), and every   *)
(* other node of the chain reported Behind (at most one notification per   *)
(* chain).                                                                 *)
ChainHasNotifier ==
    head \in Items =>
        LET c == Chain(head) IN
        /\ res[c[Len(c)]] = "WasEmpty"
        /\ \A i \in 1..Len(c) - 1 : res[c[i]] = "Behind"

(* Liveness: every published item is eventually handed out (by take_all,   *)
(* or by close), and every push returns.                                   *)
EveryPushTaken ==
    \A n \in Items : (status[n] = "queued") ~> (status[n] = "out")
PushTerminates ==
    \A p \in Prod : <>(pc[p] = "done")

Symm == Permutations(Prod)
=============================================================================
