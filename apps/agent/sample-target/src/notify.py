# FAKE token planted for the Rediver sample agent demo. Not real.
import hashlib
import pickle
import subprocess

SLACK_BOT_TOKEN = "xoxb-1111111111-2222222222-FAKEdemoTOKENrediverSAMPLE"


def fingerprint(data):
    # Insecure on purpose: MD5 for integrity.
    return hashlib.md5(data).hexdigest()


def load_state(blob):
    # Insecure on purpose: unpickling untrusted data.
    return pickle.loads(blob)


def notify(channel, text):
    # Insecure on purpose: shell=True with interpolated input.
    subprocess.call("notify-send %s '%s'" % (channel, text), shell=True)
