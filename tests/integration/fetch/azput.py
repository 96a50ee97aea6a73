#!/usr/bin/env python3
"""Test helper: create an Azure Blob container or upload one blob to Azurite with Shared Key.
   azput.py ENDPOINT ACCOUNT KEY CONTAINER            (create the container)
   azput.py ENDPOINT ACCOUNT KEY CONTAINER NAME FILE  (upload FILE as NAME)"""
import base64, email.utils, hashlib, hmac, sys, urllib.parse, urllib.request

endpoint, account, key, container = sys.argv[1:5]
name, path = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
body = open(path, "rb").read() if path else b""
url_path = urllib.parse.urlparse(endpoint).path + "/" + container
query = {"restype": "container"}
headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
if name:
    url_path += "/" + urllib.parse.quote(name)
    query = {}
    headers["x-ms-blob-type"] = "BlockBlob"
length = str(len(body)) if body else ""
ms = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
resource = f"/{account}{url_path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))
sts = "PUT\n\n\n" + length + "\n\n" + ("application/octet-stream" if name else "") + "\n\n\n\n\n\n\n" + ms + resource
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
headers["Authorization"] = f"SharedKey {account}:{sig}"
if name:
    headers["Content-Type"] = "application/octet-stream"
url = urllib.parse.urlparse(endpoint)._replace(path=url_path, query=urllib.parse.urlencode(query)).geturl()
req = urllib.request.Request(url, data=body if name else None, method="PUT", headers=headers)
try:
    urllib.request.urlopen(req).read()
except urllib.error.HTTPError as e:
    if not (e.code == 409 and not name):
        sys.exit(f"azput: {e.code} {e.read()[:300]!r}")
