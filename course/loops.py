"""NO LOOPS for students: the one static engine lives in `autograder.noloops.static`, shared by
`assert_no_loops`, `course.self_check()` and the grader, so all three read the same rule."""

from autograder.noloops.static import (  # noqa: F401 - re-exported
    ITERATING_ATTRIBUTES,
    ITERATING_BUILTINS,
    ITERATING_MODULES,
    Definition,
    LoopViolation,
    SourceDefinitions,
    find_loops,
    find_loops_in_function,
    live_definition,
    live_resolver,
)
