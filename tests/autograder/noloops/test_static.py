"""The one static NO LOOPS engine (autograder.noloops.static), on evasions a student could try: each
must be found, and honest vectorized code must not be."""

import pytest

from autograder.noloops.static import SourceDefinitions, find_loops_in_function

EVASIONS = {
    "loop_behind_functools_wraps": '''
import functools
def timed(f):
    @functools.wraps(f)
    def inner(*args):
        for _ in range(1):
            pass
        return f(*args)
    return inner

@timed
def row_means(x):
    return x.mean(axis=1)
''',
    "def_inside_an_if": '''
if True:
    def row_means(x):
        return [r.mean() for r in x]
''',
    "def_inside_a_try": '''
try:
    import nothing_here
except ImportError:
    def row_means(x):
        out = []
        for r in x:
            out.append(r.mean())
        return out
''',
    "class_with_a_looping_call": '''
class Means:
    def __call__(self, x):
        return [r.mean() for r in x]

row_means = Means()
''',
    "helper_instance_called_inside": '''
class Looper:
    def __call__(self, x):
        total = 0
        while total < 3:
            total += 1
        return x.mean(axis=1)

helper = Looper()

def row_means(x):
    return helper(x)
''',
    "map_under_another_name": '''
m = map
def row_means(x):
    return list(m(lambda r: r.mean(), x))
''',
    "reduce_imported_as_fold": '''
from functools import reduce as fold
def row_means(x):
    return fold(lambda acc, r: acc + [r.mean()], x, [])
''',
    "alias_of_a_helper_function": '''
def _helper(x):
    return [r.mean() for r in x]
h = _helper
def row_means(x):
    return h(x)
''',
    "eval_of_a_loop": '''
def row_means(x):
    return eval("[r.mean() for r in x]")
''',
    "recursion": '''
def row_means(x):
    return x[:0].sum(axis=1) if len(x) == 0 else np.concatenate([x[:1].mean(axis=1), row_means(x[1:])])
''',
}

HONEST = {
    "vectorized": "def row_means(x):\n    return x.mean(axis=1)\n",
    "decorated_by_a_clean_wrapper": '''
import functools
def checked(f):
    @functools.wraps(f)
    def inner(*args):
        return f(*args)
    return inner

@checked
def row_means(x):
    return x.sum(axis=1) / x.shape[1]
''',
    "loop_outside_the_function": "for i in range(3):\n    pass\ndef row_means(x):\n    return x.mean(axis=1)\n",
}


def found(source: str):
    definitions = SourceDefinitions()
    definitions.add_source(source, origin="cell 1")
    return definitions.find_loops("row_means")


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_each_evasion_is_found(name):
    assert found(EVASIONS[name]), f"{name} went unnoticed"


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_code_is_not_blamed(name):
    assert found(HONEST[name]) == []


def test_the_course_helpers_loops_are_not_the_students(tmp_path):
    """A course helper (installed editable, outside site-packages) may loop: a student calling it is fine,
    and a helper of the student's own, written to a file, is still the student's."""
    import importlib.util

    student = tmp_path / "student_code.py"
    student.write_text("from course.nets import count_params\n\n"
                       "def own_helper(x):\n    return [r for r in x]\n\n"
                       "def row_means(x):\n    count_params(x)\n    return x.mean(axis=1)\n\n"
                       "def row_means_looping(x):\n    return own_helper(x)\n")
    spec = importlib.util.spec_from_file_location("student_code", student)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert find_loops_in_function(module.row_means) == []  # count_params loops over parameters: the course's
    assert find_loops_in_function(module.row_means_looping)


def test_a_module_beside_the_notebook_is_read_and_one_the_notebook_writes_is_a_violation(tmp_path):
    (tmp_path / "helpers.py").write_text("def means(x):\n    return [row.mean() for row in x]\n"
                                         "def clean(x):\n    return x.mean(axis=1)\n")
    shipped = SourceDefinitions()
    shipped.add_modules_beside(tmp_path)
    shipped.add_source("import helpers\nfrom helpers import clean\n"
                       "def row_means(x):\n    return np.array(helpers.means(x))\n"
                       "def row_means_clean(x):\n    return clean(x) + helpers.clean(x)\n")
    [found] = shipped.find_loops("row_means")
    assert (found.where, found.construct, found.origin) == ("means", "list comprehension", "helpers.py")
    assert shipped.find_loops("row_means_clean") == []
    written = SourceDefinitions()  # the same code, with no helpers.py beside it: written at run time
    written.add_source("import helpers\nimport numpy as np\nimport torch.nn.functional as F\n"
                       "def row_means(x):\n    return np.array(helpers.means(x)) + F.relu(x)\n")
    [found] = written.find_loops("row_means")
    assert "module `helpers`, which is neither installed nor shipped beside the notebook" in found.construct


@pytest.mark.parametrize("code", [
    "def row_means(x):\n    return x.mean(axis=1) if sys.gettrace() is None else x.sum(axis=1) / x.shape[1]\n",
    "def row_means(x):\n    return getattr(x, 'me' + 'an')(axis=1)\n",
    "def row_means(x):\n    return vars(np)['mean'](x, axis=1)\n",
    "def row_means(x):\n    return __import__('numpy').mean(x, axis=1)\n",
    "def row_means(x):\n    from multiprocessing.dummy import Pool\n    return np.array(Pool(2).map(np.mean, x))\n",
], ids=["reads_the_tracer", "computed_getattr", "vars", "dunder_import", "pool_map"])
def test_code_the_check_cannot_read_counts_as_a_loop(code):
    definitions = SourceDefinitions()
    definitions.add_source(code)
    assert definitions.find_loops("row_means"), code


def test_getattr_with_a_constant_name_is_fine():
    definitions = SourceDefinitions()
    definitions.add_source("def row_means(x):\n    return getattr(x, 'mean')(axis=1)\n")
    assert definitions.find_loops("row_means") == []
