# An independent OSS V4 signer written from the OSS V4 signature documentation (canonical request, string to sign,
# signing key), for tests: reads a JSON list of requests on stdin, prints their signatures as a JSON list.
# Query names sort by their encoded bytes (Python sorts strings by code point), whatever their case.
import hashlib, hmac, json, sys
from urllib.parse import quote
def enc(s): return quote(s, safe="-_.~")
def sign(r):
    q = sorted((enc(k), enc(v)) for k, v in r["query"])
    cq = "&".join(k if v == "" else k + "=" + v for k, v in q)
    hs = sorted((k.lower(), v.strip()) for k, v in r["headers"].items()
                if k.lower().startswith("x-oss-") or k.lower() in ("content-type", "content-md5"))
    ch = "".join(k + ":" + v + "\n" for k, v in hs)
    uri = "/" + r["bucket"] + "/" + quote(r["key"], safe="-_.~/")
    creq = "\n".join([r["method"], uri, cq, ch, "", "UNSIGNED-PAYLOAD"])
    date = r["datetime"][:8]
    scope = f"{date}/{r['region']}/oss/aliyun_v4_request"
    sts = "\n".join(["OSS4-HMAC-SHA256", r["datetime"], scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("aliyun_v4" + r["secret"]).encode()
    for part in (date, r["region"], "oss", "aliyun_v4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
print(json.dumps([sign(r) for r in json.load(sys.stdin)]))
