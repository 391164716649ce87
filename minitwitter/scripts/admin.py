"""minitwitter-admin <ini> grant <username> admin|moderator|user
minitwitter-admin <ini> create <username> <email>     (the password on standard input)

The server's moderation commands. `grant` gives an account a role (the first admin is made
this way), on record in the audit log with no actor (the server). `create` makes an account
whatever the `registrations` setting says, with the rules of sign-up (the same username,
email and password checks; its welcome email goes through the outbox, which the worker's
relay publishes). The database is DATABASE_URL, or the ini's database.url.
"""

import argparse
import os
import sys

import colander

from minitwitter import settings as settings_module
from minitwitter.api import schemas
from minitwitter.domain import DomainError, accounts, moderation
from minitwitter.domain.credentials import Passwords
from minitwitter.store.tx import Store


def _parser():
    parser = argparse.ArgumentParser(
        prog="minitwitter-admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ini", help="the ini file, e.g. production.ini")
    commands = parser.add_subparsers(dest="command", required=True)
    grant = commands.add_parser("grant", help="give an account a role")
    grant.add_argument("username")
    grant.add_argument("role", choices=moderation.ROLES)
    create = commands.add_parser("create", help="make an account (the password on standard input)")
    create.add_argument("username")
    create.add_argument("email")
    return parser


def grant(store, username, role):
    with store.begin() as tx:
        found = moderation.account_by_username(tx, username)
        if found is None:
            raise SystemExit(f"minitwitter-admin: no account named {username!r}")
        before = moderation.grant_role(tx, None, found["id"], role)
    return f"{username}: {before} -> {role}"


def create(store, username, email, password):
    try:
        body = schemas.SignupBody().deserialize({"username": username, "email": email, "password": password})
    except colander.Invalid as e:
        problems = "; ".join(f"{name}: {message}" for name, message in e.asdict().items())
        raise SystemExit(f"minitwitter-admin: {problems}") from None
    passwords = Passwords(store.settings["bcrypt.rounds"])
    try:
        with store.begin() as tx:
            user = accounts.sign_up(tx, passwords, body["username"], body["email"], body["password"])
    except DomainError as e:
        raise SystemExit(f"minitwitter-admin: {e.field or 'account'}: {e.message}") from None
    return f"created {user['username']} (id {user['id']})"


def main(argv=None, environ=None, stdin=None):
    args = _parser().parse_args(argv)
    environ = dict(os.environ if environ is None else environ)
    try:
        settings = settings_module.from_ini(args.ini, environ=environ, require_secret=False)
    except settings_module.SettingsError as e:
        sys.exit(f"minitwitter-admin: {e}")
    store = Store(settings, application_name="minitwitter-admin")
    if args.command == "grant":
        print(grant(store, args.username, args.role))
    else:
        password = (stdin or sys.stdin).readline().rstrip("\r\n")
        print(create(store, args.username, args.email, password))


if __name__ == "__main__":
    main()
