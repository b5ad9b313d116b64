"""ship.py's choice of the shipped models: validation MAE only, both folds required, ties to fewer parameters."""

from ppghr_tools import ship as SH
from ppghr_tools import sweep as SW


def _result(spec, val, test, inference):
    return {"name": spec.name, "student": spec.student, "strategy": spec.strategy, "teacher": spec.teacher,
            "train_subset": spec.fold, "test_subset": spec.test_subset, "best_val_mae": val,
            "params": {"inference": inference}, "test": {"mae_argmax": test}}


def _find(specs, student, strategy, fold):
    return next(s for s in specs if s.student == student and s.strategy == strategy and s.fold == fold
                and (s.teacher in (None, "resnet12", "pulse_teacher")))


def test_choose_by_validation_not_test():
    specs = SW.plan()
    res = {}
    for fold in ("bami1", "bami2"):
        # resnet2 scratch: better test MAE, worse validation MAE -> not chosen
        s = _find(specs, "resnet2", "scratch", fold)
        res[s.name] = _result(s, 8.0, 5.0, 26868)
        s = _find(specs, "mlp2", "dkd", fold)
        res[s.name] = _result(s, 6.0, 9.0, 28724)
        s = _find(specs, "resnet6", "scratch", fold)
        res[s.name] = _result(s, 4.0, 7.0, 128000)
    # mlp1 soft: best validation but only one fold finished -> not a candidate
    s = _find(specs, "mlp1", "soft", "bami1")
    res[s.name] = _result(s, 1.0, 1.0, 17060)
    chosen = SH.choose(res, specs)
    assert chosen["small"][0] == ("mlp2", "dkd", "resnet12") and chosen["small"][2] == 6.0
    assert chosen["large"][0] == ("resnet6", "scratch", None)
    assert "pulse" not in chosen


def test_choose_ties_go_to_fewer_parameters():
    specs = SW.plan()
    res = {}
    for fold in ("bami1", "bami2"):
        for student, n in (("mlp2", 28724), ("resnet1", 16500)):
            s = _find(specs, student, "scratch", fold)
            res[s.name] = _result(s, 7.0, 7.0, n)
    assert SH.choose(res, specs)["small"][0][0] == "resnet1"
