"""Running the execution phase on a Dask cluster (`autograder grade --scheduler ADDRESS`).

Each submission's execution is one Dask task running `execute_submission`, exactly as a local
worker process would; this process keeps the gradebook and saves each result as it arrives. The
workers must see the course directory at the same path (a shared filesystem, as on Slurm or
Kubernetes clusters with a shared volume) and have this package installed.

    autograder grade assignment2 --scheduler local               # a LocalCluster on this machine
    autograder grade assignment2 --scheduler tcp://10.0.0.5:8786  # an existing scheduler

On Slurm, start the cluster with dask-jobqueue and pass its scheduler address:

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=4, processes=1, memory="16GB", walltime="02:00:00",
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=8)
    print(cluster.scheduler_address)   # then: autograder grade assignment2 --scheduler <address>

A GPU per Dask worker is the cluster's business (one GPU per Slurm job above); with `--device cuda`
each worker computes on the GPUs its job was given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from .grading import Execution, GradingJob, Staging, execute_submission

log = logging.getLogger(__name__)


def execute_on_dask(jobs: list[GradingJob], scheduler: str) -> Iterator[Execution]:
    """Submit every job to the cluster at `scheduler` ('local' starts one); yield results as they finish."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(1, min(len(jobs), (os.cpu_count() or 2) - 1)), threads_per_worker=1,
                               processes=True, dashboard_address=None)
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        with Client(address) as client:
            log.info("grading on the Dask cluster at %s (%d workers)", address,
                     len(client.scheduler_info().get("workers", {})))
            futures = {client.submit(execute_submission, job, key=f"grade-{job.student}", pure=False): job
                       for job in jobs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    yield Execution.from_json(future.result())
                except Exception as error:  # noqa: BLE001 - a lost worker is this student's error
                    yield Execution(job.student, Staging(), crash=f"the Dask task failed: {error}",
                                    work_dir=job.work_dir)
    finally:
        if cluster is not None:
            cluster.close()
