import math

import pytest

from utils.schedules import CosineLR, GammaSchedule, TemperingSchedule

EPOCHS = [0, 5, 10, 40, 55, 70, 85, 99]


def eq5(t, lo, hi, T):
    return lo + 0.5 * (hi - lo) * (1 + math.cos(t / T * math.pi))


@pytest.mark.parametrize("epoch", EPOCHS)
def test_cosine_lr_is_eq5_then_holds(epoch):
    lr = CosineLR(5e-3, 1e-8, 90)
    expected = eq5(min(epoch, 90), 1e-8, 5e-3, 90)
    assert math.isclose(lr(epoch), expected, rel_tol=1e-9, abs_tol=1e-15)


def test_lr_never_rises_after_T():
    lr = CosineLR(5e-3, 1e-8, 90)
    values = [lr(e / 10) for e in range(1000)]
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert lr(99) == pytest.approx(1e-8)


@pytest.mark.parametrize("epoch", EPOCHS)
def test_gamma_rises_1_to_2_over_10_epochs(epoch):
    g = GammaSchedule(1.0, 2.0, 10)
    expected = 2.0 - 0.5 * (2.0 - 1.0) * (1 + math.cos(min(epoch, 10) / 10 * math.pi))
    assert g(epoch) == pytest.approx(expected)
    by_hand = {0: 1.0, 5: 1.5, 10: 2.0, 40: 2.0, 55: 2.0, 70: 2.0, 85: 2.0, 99: 2.0}
    assert g(epoch) == pytest.approx(by_hand[epoch])


@pytest.mark.parametrize("epoch,strength", [(0, 1.0), (5, 1.0), (10, 1.0), (40, 1.0), (55, 0.5),
                                            (70, 0.0), (85, 0.5), (99, 0.5)])
def test_tempering_anneals_to_1_and_back_then_freezes(epoch, strength):
    t = TemperingSchedule(40, 30, 85)
    assert t.strength(epoch) == pytest.approx(strength, abs=1e-12)
    w = t.weights(epoch, [5.0, 1.0])
    assert w[0] == pytest.approx(1 + strength * 4) and w[1] == pytest.approx(1.0)


def test_a_ramp_of_zero_epochs_is_at_its_end_value_from_the_start():
    # gamma_T 0: no ramp, gamma at its end value from epoch 0 (not a division by zero)
    assert [GammaSchedule(1.0, 2.0, 0.0)(e) for e in (0, 0.5, 3)] == [2.0, 2.0, 2.0]
    assert CosineLR(5e-3, 1e-8, 0)(0) == 1e-8


def test_the_schedule_table_has_a_row_per_step_and_each_schedules_value_there():
    from utils.schedules import table

    lr, gamma = CosineLR(1.0, 0.0, 4), GammaSchedule(1.0, 2.0, 2)
    t = table({"lr": lr, "gamma": gamma}, epochs=3, steps_per_epoch=2)
    assert t.columns.tolist() == ["epoch", "lr", "gamma"]
    assert t.epoch.tolist() == [0, 0.5, 1, 1.5, 2, 2.5]
    assert t.lr.tolist() == pytest.approx([eq5(e, 0.0, 1.0, 4) for e in t.epoch])
    assert t.gamma.tolist() == pytest.approx([1.0, eq5(0.5, 2.0, 1.0, 2), 1.5, eq5(1.5, 2.0, 1.0, 2), 2.0, 2.0])
