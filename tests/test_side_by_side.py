"""Two test runs on one machine do not meet (conftest.py): each claims its own run number
(its database and Redis database), and a server a test starts takes a free port, another
one when that port is taken before the server binds it."""

import socket

import pytest
import redis
from conftest import RUNS, claim_run, redis_db

from minitwitter_tools.devservices import RedisServer, _free_cluster_port


@pytest.fixture
def devservices_redis_url(services):
    """The Redis server the run's database is on (database 0 of it)."""
    return services["REDIS_URL"].rsplit("/", 1)[0] + "/0"


def test_a_second_run_gets_another_number_and_a_finished_ones_is_free_again(services):
    mine = services["run"]
    other, claim = claim_run(services["DATABASE_URL"])
    try:
        assert other != mine and 0 <= other < RUNS
        third, claim3 = claim_run(services["DATABASE_URL"])
        assert third not in (mine, other)
        claim3.close()  # that run ended (killed or not: the server drops its lock)
        again, claim3 = claim_run(services["DATABASE_URL"])
        assert again == third
        claim3.close()
    finally:
        claim.close()


def test_a_number_whose_redis_database_has_clients_is_passed_over(services, devservices_redis_url):
    """A run that does not claim (another PostgreSQL server, an older checkout) but uses
    the Redis database of n keeps n from the runs that do."""
    free, claim = claim_run(services["DATABASE_URL"])
    claim.close()
    squatter = redis.Redis.from_url(devservices_redis_url.rsplit("/", 1)[0] + f"/{redis_db(free)}")
    squatter.ping()  # connected, on that database
    try:
        taken, claim = claim_run(services["DATABASE_URL"], devservices_redis_url)
        claim.close()
        assert taken not in (free, services["run"])
    finally:
        squatter.close()


def test_a_redis_server_whose_port_was_taken_meanwhile_starts_on_another(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = RedisServer(tmp_path)
        server.port = taken.getsockname()[1]  # free when chosen, another process's since
        try:
            server.start()
            assert server.port != taken.getsockname()[1]
            assert redis.Redis(port=server.port).info("server")["process_id"] == server.process.pid
        finally:
            server.stop()


def test_a_cluster_node_port_leaves_room_for_its_bus_port():
    for _ in range(50):
        port = _free_cluster_port()
        assert port + 10000 <= 65535  # redis-server refuses a cluster port whose bus port is not
