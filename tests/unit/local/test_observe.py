"""What the embedded world prints of DynamoDB items does not depend on PYTHONHASHSEED."""
from decimal import Decimal

from warden_local.observe import plain


def test_a_string_set_comes_out_sorted_whatever_the_hash_seed():
    # Given a DynamoDB string set (a Python set: its iteration order follows the hash seed)
    effects = {f"effect-{n:02d}#{chr(97 + n % 26)}" for n in range(40)}
    # When it is made JSON-safe
    # Then it is one sorted list, so two runs with different seeds compare equal
    assert plain({"effects_done": effects}) == {"effects_done": sorted(effects)}


def test_number_and_binary_sets_come_out_sorted():
    assert plain({Decimal(3), Decimal("1.5"), Decimal(2)}) == [1.5, 2, 3]
    assert plain(frozenset({b"b", b"a"})) == ["YQ==", "Yg=="]


def test_lists_keep_their_order():
    assert plain(["b", "a", ("d", "c")]) == ["b", "a", ["d", "c"]]
