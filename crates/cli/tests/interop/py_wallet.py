"""The real bittensor-wallet as an interop peer: create or open a wallet, print addresses.

    $BT10_PY py_wallet.py create --path P --name N [--password PW]
    $BT10_PY py_wallet.py open   --path P --name N [--password PW]
"""
import argparse
import json
import os

os.environ.setdefault("READ_ONLY", "1")

from bittensor_wallet import Wallet  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("command", choices=["create", "open"])
parser.add_argument("--path", required=True)
parser.add_argument("--name", required=True)
parser.add_argument("--hotkey", default="default")
parser.add_argument("--password")
args = parser.parse_args()

wallet = Wallet(name=args.name, hotkey=args.hotkey, path=args.path)
if args.command == "create":
    wallet.create_new_coldkey(
        n_words=12,
        use_password=args.password is not None,
        overwrite=True,
        suppress=True,
        coldkey_password=args.password,
    )
    wallet.create_new_hotkey(n_words=12, use_password=False, overwrite=True, suppress=True)

cold = wallet.coldkey_file.get_keypair(password=args.password)
print(
    json.dumps(
        {
            "coldkey": cold.ss58_address,
            "coldkeypub": wallet.coldkeypub.ss58_address,
            "hotkey": wallet.hotkey.ss58_address,
            "encrypted": wallet.coldkey_file.is_encrypted(),
        }
    )
)
