"""Where student code runs: sandboxed, limited and guarded kernels.

- `settings`: the `Sandbox` configurable (`c.Sandbox.*` in nbgrader_config.py);
- `manager`: the kernel manager the grading step uses, and each process's plan (warm, cold, unconfined);
- `bubblewrap`: the sandbox itself and its launcher; `isolate`, `linux`: each warm kernel's own namespaces;
- `template`: warm kernels forked from a template that imported the course's libraries;
- `launch`, `warden`: inside the kernel, the integrity guard, then ipykernel; `channel`: the grader's end.

Imports nothing itself: the modules that run inside kernels must start fast.
"""
