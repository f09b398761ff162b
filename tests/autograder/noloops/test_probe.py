"""The runtime half of NO LOOPS: which code it counts, decided by the code itself, not its file name."""

import numpy as np
import numpy._core._methods as methods

import course.checks
from autograder.noloops.probe import count_lines, library_code_check
from autograder.noloops.static import _PACKAGE_ROOTS

LIBRARIES = (str(__import__("pathlib").Path(np.__file__).parents[1]) + "/", *_PACKAGE_ROOTS)


def is_library_file(filename: str) -> bool:
    return filename.startswith(LIBRARIES)


def test_library_code_is_the_librarys_and_code_compiled_under_its_name_is_not():
    is_library_code = library_code_check(is_library_file)
    np.ones((3, 4)).mean(axis=1)  # numpy's Python code, run (and specialised) before the check
    assert is_library_code(methods._mean.__code__)
    assert is_library_code(course.checks.assert_close.__code__), "the course's helpers are not the student's"
    assert is_library_code(__import__("os").path.join.__code__), "the standard library, frozen or not"
    space = {}
    exec(compile("def _mean(a, axis=None):\n    return [row.mean() for row in a]\n", methods.__file__, "exec"),
         space)
    assert not is_library_code(space["_mean"].__code__), "a loop claiming to be numpy's is counted"
    exec(compile("def join(a, *p):\n    return a\n", "<frozen posixpath>", "exec"), space)
    assert not is_library_code(space["join"].__code__)


def test_the_count_grows_for_a_loop_compiled_under_a_library_file_name():
    is_library_code = library_code_check(is_library_file)
    space = {}
    exec(compile("def means(x):\n    return [row.mean() for row in x]\n", methods.__file__, "exec"), space)
    counted = [count_lines(space["means"], (np.ones((n, 3)),), lambda frame: not is_library_code(frame.f_code))
               for n in (4, 32)]
    assert counted[1] > counted[0], counted
    honest = [count_lines(lambda x: x.mean(axis=1), (np.ones((n, 3)),),
                          lambda frame: not is_library_code(frame.f_code)) for n in (4, 32)]
    assert honest[0] == honest[1], honest


def test_a_loop_grows_at_every_step_and_a_branch_at_one():
    from autograder.preprocessors.checks import grows_with_input

    assert grows_with_input([3, 5, 9, 17]), "a loop over the input"
    assert grows_with_input([2, 2, 3, 4]), "a loop that starts above a size"
    assert not grows_with_input([2, 2, 3, 3]), "`if n > 8:` one more line"
    assert not grows_with_input([4, 4, 4, 4])
    assert grows_with_input([2, 3]), "two sizes only: any growth"


def test_the_probe_ladder_spans_the_declared_sizes():
    from autograder.declarations import LoopFreeFunction

    function = LoopFreeFunction("f", ("g",), "lambda n, k: (n, k)", ("n", "k"), sizes=(("k", 2, 12),))
    assert function.size_ladder("n", (4, 32)) == [4, 8, 16, 32]
    assert function.size_ladder("k", (4, 32)) == [2, 4, 7, 12]
