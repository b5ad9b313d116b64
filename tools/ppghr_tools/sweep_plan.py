"""The distillation sweep's plan: which runs, in which order (sweep.py's docstring says why).

Its own module so that results.py (which lays the plan's runs out as tables) and sweep.py (which
runs them, then builds the results pages) both import it without importing each other.
``plan()`` is the time-domain sweep, ``pulse_wn_plan()`` the per-window-normalised PULSE pair
(issue 13), ``quick_plan()`` the tiny end-to-end check (``sweep --quick``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import List

from . import distill as DI

TEACHER_BLOCKS = (2, 4, 8, 12)
MAIN_TEACHER = 12
STUDENT_BLOCKS = (1, 2, 6, 10)
MLP_VARIANTS = (1, 2, 3, 4)
KD_STRATEGIES = ("dkd", "soft", "hard", "feature")     # dkd first: the most informative
STRATEGY_ORDER = ("scratch", "hard", "soft", "dkd", "feature")
FOLDS = (("bami1", "bami2"), ("bami2", "bami1"))
EPOCHS = 40
PATIENCE = 8
SEED = 0


def _spec(student, strategy="scratch", teacher=None, fold=FOLDS[0], **kw) -> DI.RunSpec:
    return DI.RunSpec(student, strategy, teacher, fold[0], fold[1], kw.get("seed", SEED),
                      kw.get("epochs", EPOCHS), kw.get("patience", PATIENCE))


def plan(epochs: int = EPOCHS, patience: int = PATIENCE, seed: int = SEED, full: bool = False) -> List[DI.RunSpec]:
    """Every run of the sweep, in execution order (see the module docstring); full=True: also hard,
    soft and feature distillation from the teachers other than the 12-block one."""
    kw = dict(epochs=epochs, patience=patience, seed=seed)
    tiers: List[List[DI.RunSpec]] = []

    def both(student, strategy="scratch", teacher=None):
        return [_spec(student, strategy, teacher, f, **kw) for f in FOLDS]

    r = lambda n: f"resnet{n}"          # noqa: E731
    main_t = r(MAIN_TEACHER)
    # 1. cheap scratch baselines
    tiers.append([s for n in (1, 2) for s in both(r(n))] + [s for v in MLP_VARIANTS for s in both(f"mlp{v}")])
    # 2. the main teacher
    tiers.append(both(main_t))
    # 3. small students from the main teacher, dkd first
    tiers.append([s for n in (1, 2) for st in KD_STRATEGIES for s in both(r(n), st, main_t)])
    # 4. larger scratch students, then their distillation from the main teacher
    tiers.append([s for n in (6, 10) for s in both(r(n))])
    tiers.append([s for n in (6, 10) for st in KD_STRATEGIES for s in both(r(n), st, main_t)])
    # 5. MLP students from the main teacher
    tiers.append([s for v in MLP_VARIANTS for st in KD_STRATEGIES for s in both(f"mlp{v}", st, main_t)])
    # 6. PULSE
    tiers.append(both("pulse_teacher") + both("pulse_student") + both("pulse_student", "relation", "pulse_teacher"))
    # 7. the other teachers and their students (heatmap): dkd first, small students first
    others = [t for t in TEACHER_BLOCKS if t != MAIN_TEACHER]
    tiers.append([s for t in others if t not in STUDENT_BLOCKS for s in both(r(t))])
    for st in (KD_STRATEGIES if full else ("dkd",)):
        tiers.append([s for n in STUDENT_BLOCKS for t in others for s in both(r(n), st, r(t))])
    out, seen = [], set()
    for tier in tiers:
        for s in tier:
            if s.name not in seen:
                seen.add(s.name)
                out.append(s)
    return out


def pulse_wn_plan(epochs: int = EPOCHS, patience: int = PATIENCE, seed: int = SEED) -> List[DI.RunSpec]:
    """The per-window-normalised PULSE pair with 180-class heads (issue 13), both folds: the teacher
    from scratch, the student with the relation loss and from scratch. Not part of plan() (the
    time-domain sweep's page); ship.py chooses the PULSE student among both."""
    out = []
    for f in FOLDS:
        kw = dict(epochs=epochs, patience=patience, seed=seed)
        out += [_spec("pulse_teacher_wn_cls", fold=f, **kw),
                _spec("pulse_student_wn_cls", "relation", "pulse_teacher_wn_cls", f, **kw),
                _spec("pulse_student_wn_cls", fold=f, **kw)]
    return out


def quick_plan() -> List[DI.RunSpec]:
    """--quick: a resnet3 teacher, resnet1 / resnet2 students with every strategy, mlp1 (scratch, dkd,
    feature), the PULSE pair; both folds; 2 epochs, batch 32 (and 3 batches per epoch, run_quick)."""
    kw = dict(epochs=2, patience=1)
    runs = []
    for f in FOLDS:
        runs += [_spec("resnet3", fold=f, **kw)]
        for n in (1, 2):
            runs += [_spec(f"resnet{n}", fold=f, **kw)] + [_spec(f"resnet{n}", st, "resnet3", f, **kw)
                                                          for st in KD_STRATEGIES]
        runs += [_spec("mlp1", fold=f, **kw), _spec("mlp1", "dkd", "resnet3", f, **kw),
                 _spec("mlp1", "feature", "resnet3", f, **kw)]
        runs += [_spec("pulse_teacher", fold=f, **kw), _spec("pulse_student", "relation", "pulse_teacher", f, **kw)]
    return [replace(s, batch_size=32) for s in runs]
