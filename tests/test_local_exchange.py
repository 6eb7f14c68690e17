"""Records between operators in one interpreter go by reference (``jobs.flink.local``)."""

import pickle
import sys

import pytest

from jobs.flink.local import MARK, SWITCH_INTERVAL, Exchange, share_interpreter


def copy(exchange: Exchange) -> Exchange:
    """What an operator gets: its own unpickled copy of the graph's exchange."""
    return pickle.loads(pickle.dumps(exchange))


def test_a_record_goes_by_reference_once_its_receiver_is_open_in_this_interpreter():
    graph = Exchange()
    sender, receiver = copy(graph), copy(graph)
    record = ("S", 3, [("ctr", "item-1", 1, 10)])
    assert sender.send("state", 0, record) is record  # the receiver is not open yet: by value
    receiver.open("state", 0)
    assert sender.local("state", 0) and not sender.local("state", 1) and not sender.local("gather", 0)
    marker = sender.send("state", 0, record)
    assert marker[0] == MARK and len(receiver.inbox) == 1
    assert receiver.receive(pickle.loads(pickle.dumps(marker))) is record and len(receiver.inbox) == 0
    assert receiver.receive(record) is record  # a record sent by value passes through
    receiver.close()
    assert not sender.local("state", 0) and sender.send("state", 0, record) is record


def test_markers_keep_their_records_apart_and_in_any_order():
    graph = Exchange()
    sender, receiver = copy(graph), copy(graph)
    receiver.open("rows", 0)
    first, second = sender.send("rows", 0, ("C", 1)), sender.send("rows", 0, ("C", 2))
    assert first != second
    assert [receiver.receive(second), receiver.receive(first)] == [("C", 2), ("C", 1)]


def test_a_failed_attempt_closing_late_leaves_the_inbox_of_the_attempt_that_replaced_it():
    graph = Exchange()
    failed, restarted, sender = copy(graph), copy(graph), copy(graph)
    failed.open("gather", 1)
    restarted.open("gather", 1)
    failed.close()
    marker = sender.send("gather", 1, ("G", 7))
    assert marker[0] == MARK and restarted.receive(marker) == ("G", 7)


def test_graphs_do_not_share_inboxes_and_a_disabled_exchange_sends_by_value():
    one, other = Exchange(), Exchange()
    receiver = copy(one)
    receiver.open("rows", 0)
    assert copy(one).local("rows", 0) and not other.local("rows", 0)
    receiver.close()
    off = Exchange(enabled=False)
    receiver = copy(off)
    receiver.open("rows", 0)
    record = ("F",)
    assert not off.local("rows", 0) and off.send("rows", 0, record) is record
    assert receiver.receive(record) is record


def test_operators_sharing_an_interpreter_hand_the_gil_over_every_50_ms_not_5():
    before = sys.getswitchinterval()
    try:
        share_interpreter()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL) == 0.05
    finally:
        sys.setswitchinterval(before)
