"""irctest controller for actorchat's chatd (docs/irctest/README.md says how to run it).

chatd is the binary named by $ACTORCHAT_CHATD (default: chatd on $PATH). It serves
IRC on the port irctest gives, the line protocol on a free one, keeps its accounts in
a fresh sqlite store (NickServ and SASL need them) and has its flood and per-address
limits lifted, as irctest connects many clients from one address at full speed.
"""

import os
import shutil
import subprocess
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController


class ActorchatController(BaseServerController, DirectoryBasedController):
    software_name = "actorchat"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if password is not None:
            raise NotImplementedByController("PASS (server passwords)")
        # NickServ is chatd's own (accounts need the store): run_services
        # asks for nothing more.
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        (line_host, line_port) = self.get_hostname_and_port()
        chatd = os.environ.get("ACTORCHAT_CHATD") or shutil.which("chatd") or "chatd"
        # irctest's server operator: operuser, with the password operpassword.
        admins = self.directory / "admins"
        with admins.open("w") as fd:
            fd.write(subprocess.run([chatd, "oper", "hash", "operuser"], input="operpassword\n",
                                    capture_output=True, text=True, check=True).stdout)
        args = [
            chatd,
            "-listen", f"{line_host}:{line_port}",
            "-store", "sqlite",
            "-data", str(self.directory / "data"),
            "-flood-rate", "0",
            "-max-conns-per-ip", "0",
            "-log-level", "warn",
            "-admins", str(admins),
            # irctest's server name, which its tests expect in PONG and WHO.
            "-irc-name", "My.Little.Server",
            # Posts at once: irctest takes a PONG to mean that what was sent
            # before the PING has reached everyone, and a room's 2 ms batch
            # window would deliver a post after it.
            "-post-batch-window", "-1ns",
        ]
        if ssl:
            self.gen_ssl()
            args += ["-irc-tls-listen", f"{hostname}:{port}", "-tls-cert", str(self.pem_path), "-tls-key", str(self.key_path)]
        else:
            args += ["-irc-listen", f"{hostname}:{port}"]
        self.proc = self.execute(args)


    def wait_for_services(self) -> None:
        # NickServ is chatd's own: it is up with the server.
        pass

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:
        """Registers an account through NickServ, as a client without SASL would."""
        assert password
        client = case.addClient(show_io=False)
        case.sendLine(client, "NICK " + username)
        case.sendLine(client, "USER r e g :user")
        while case.getRegistrationMessage(client).command != "001":
            pass
        case.getMessages(client)
        case.sendLine(client, "PRIVMSG NickServ :REGISTER " + password)
        msg = case.getMessage(client)
        assert "is registered to you" in msg.params[-1], msg
        case.sendLine(client, "QUIT")
        case.assertDisconnected(client)


def get_irctest_controller_class() -> Type[ActorchatController]:
    return ActorchatController
