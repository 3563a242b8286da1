"""Read the public views of the store at CHDB_PATH in a process of its own and pickle them to a file.

A test process that already opened its own chDB directory cannot open another one, so stores written by
ingest subprocesses are read through this.   python -m tests.view_dump OUT.pickle
"""

import pickle
import sys

from orderstream.clickhouse import connect
from tests.ground_truth import read_views

if __name__ == "__main__":
    client = connect()
    views = read_views(client)
    views["ingest_errors"] = client.query(
        "SELECT kafka_partition, kafka_offset, reason FROM ingest_errors FINAL"
    ).result_rows
    with open(sys.argv[1], "wb") as out:
        pickle.dump(views, out)
