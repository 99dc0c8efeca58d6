"""The arithmetic of bonus distribution: coefficients, largest-remainder rounding, formula text."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from app.services.appraisal.distribution import allocate, coefficient, num
from app.services.appraisal.scheme import DEFAULT, from_dict

D = Decimal


def amounts(pool: str, coefficients: list[str]) -> list[Decimal]:
    return [a.amount for a in allocate(D(pool), [(i + 1, D(c)) for i, c in enumerate(coefficients)])]


def test_three_equal_people_share_ten_thousand_to_the_fen_and_the_first_gets_the_odd_fen() -> None:
    result = amounts("10000.00", ["90", "90", "90"])
    assert result == [D("3333.34"), D("3333.33"), D("3333.33")]
    assert sum(result) == D("10000.00")


def test_leftover_fens_go_to_the_largest_remainders() -> None:
    # exact shares 33.333…, 33.333…, 33.333… of 100.00 → one fen left; 1.00 over 3 → one fen left too
    assert amounts("1.00", ["1", "1", "1"]) == [D("0.34"), D("0.33"), D("0.33")]
    # 10.00 by 1:2:4 → 1.428571…, 2.857142…, 5.714285… → floors 1.42, 2.85, 5.71 (9.98); remainders
    # 0.8571, 0.7142, 0.4285 fen → the two largest (first and second) get a fen
    result = allocate(D("10.00"), [(1, D("1")), (2, D("2")), (3, D("4"))])
    assert [a.amount for a in result] == [D("1.43"), D("2.86"), D("5.71")]
    assert [a.extra_fen for a in result] == [True, True, False]


def test_equal_remainders_go_to_the_larger_coefficient_then_the_smaller_key() -> None:
    # 0.05 by 1:1:1:1:1:1 → 0.8333 fen each: 0 fen each after the cut, 5 fens left for 6 people
    result = allocate(D("0.05"), [(k, D("1")) for k in (6, 5, 4, 3, 2, 1)])
    assert {a.key: a.amount for a in result} == {
        1: D("0.01"),
        2: D("0.01"),
        3: D("0.01"),
        4: D("0.01"),
        5: D("0.01"),
        6: D("0.00"),
    }
    # 0.03 by 1:2:1:2 → 0.5, 1, 0.5, 1 fen: two whole fens, one left; the remainders tie (0.5) → key 1
    result = allocate(D("0.03"), [(3, D("1")), (2, D("2")), (1, D("1")), (4, D("2"))])
    assert {a.key: a.amount for a in result} == {1: D("0.01"), 2: D("0.01"), 3: D("0.00"), 4: D("0.01")}
    # 0.02 by 1:3 → 0.5 and 1.5 fen: the remainders tie, the larger coefficient gets the fen
    result = allocate(D("0.02"), [(1, D("1")), (2, D("3"))])
    assert [a.amount for a in result] == [D("0.00"), D("0.02")]


@pytest.mark.parametrize("seed", range(40))
def test_seven_people_with_random_scores_sum_exactly_to_the_pool(seed: int) -> None:
    rng = random.Random(seed)
    pool = D(rng.randint(1, 10_000_000)) / 100
    coefficients = [(k, D(rng.randint(0, 12000)) / 100 * D(rng.choice(["0.5", "0.8", "1", "1.2"]))) for k in range(7)]
    if sum(c for _, c in coefficients) == 0:
        coefficients[0] = (0, D("1"))
    result = allocate(pool, coefficients)
    assert sum(a.amount for a in result) == pool
    total_c = sum(Fraction(c) for _, c in coefficients)
    for a in result:
        exact = Fraction(pool) * Fraction(a.coefficient) / total_c
        assert abs(Fraction(a.amount) - exact) < Fraction(1, 100)  # never more than one fen off the exact share
        assert a.amount == a.amount.quantize(D("0.01"))
    # the leftover fens went to the largest remainders: none without one was cut more than one with one
    cut = {a.key: a.exact * 100 - int(a.exact * 100) for a in result}
    given = [cut[a.key] for a in result if a.extra_fen]
    kept = [cut[a.key] for a in result if not a.extra_fen]
    if given and kept:
        assert min(given) >= max(kept)


def test_rounding_is_deterministic_whatever_the_input_order() -> None:
    items = [(k, D(v)) for k, v in [(1, "85.5"), (2, "85.5"), (3, "72"), (4, "93.25"), (5, "60")]]
    forward = {a.key: a.amount for a in allocate(D("12345.67"), items)}
    backward = {a.key: a.amount for a in allocate(D("12345.67"), list(reversed(items)))}
    assert forward == backward


def test_allocate_refuses_a_pool_with_more_than_two_decimals_or_zero_coefficients() -> None:
    with pytest.raises(ValueError):
        allocate(D("10.001"), [(1, D("1"))])
    with pytest.raises(ValueError):
        allocate(D("10.00"), [(1, D("0")), (2, D("0"))])


def test_score_method_uses_the_total_and_score_x_grade_multiplies_by_the_grade_coefficient() -> None:
    scheme = from_dict({"grade_coefficients": {"good": "1.2", "fairly_good": "1", "average": "0.8", "poor": "0.5"}})
    assert coefficient(scheme, "score", D("88.50"), "good") == (D("88.500000"), None)
    assert coefficient(scheme, "score_x_grade", D("88.50"), "good") == (D("106.200000"), D("1.2"))
    assert coefficient(scheme, "score_x_grade", D("65.25"), "poor") == (D("32.625000"), D("0.5"))
    # a negative total never pays into the pool
    assert coefficient(DEFAULT, "score", D("-3"), "poor") == (D("0.000000"), None)


def test_both_methods_with_exact_amounts() -> None:
    scheme = DEFAULT  # good 1.2, fairly_good 1.0, average 0.8, poor 0.5
    people = [(1, D("95"), "good"), (2, D("85"), "fairly_good"), (3, D("75"), "average")]
    by_score = allocate(D("9000.00"), [(k, coefficient(scheme, "score", t, g)[0]) for k, t, g in people])
    # 9000 × 95/255 = 3352.94117…, × 85/255 = 3000, × 75/255 = 2647.05882… → 3352.94 + 3000 + 2647.06
    assert [a.amount for a in by_score] == [D("3352.94"), D("3000.00"), D("2647.06")]
    weighted = allocate(D("9000.00"), [(k, coefficient(scheme, "score_x_grade", t, g)[0]) for k, t, g in people])
    # c = 114, 85, 60 (Σ 259): 3961.3899…, 2953.6679…, 2084.9420… → 3961.39 + 2953.67 + 2084.94 = 9000.00
    assert [a.amount for a in weighted] == [D("3961.39"), D("2953.67"), D("2084.94")]


def test_numbers_in_formulas_are_written_without_trailing_zeros() -> None:
    assert num(D("106.200000")) == "106.2"
    assert num(D("85.000000")) == "85"
    assert num(D("0.000125")) == "0.000125"
