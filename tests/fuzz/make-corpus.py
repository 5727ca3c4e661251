#!/usr/bin/python3
"""Write the seed corpora of the fuzz harnesses from vectors.json.

Usage: tests/fuzz/make-corpus.py [SHARED_DIR]   (default ../shared beside the tree)
Each vector goes to the corpus of the decoder its device belongs to, as the
bytes published on MQTT (pdata vectors wrapped in the logged header, XORed
again when it says encType=1). A few hand-written frames cover the message
shapes and failure paths the captures do not.
"""
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared")


def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def wrap(pdata, logged):
    """An envelope with one header, as SPEC section 3 describes."""
    xor = logged.get("encType") == 1
    seq = logged.get("seq", 0)
    if xor:
        pdata = bytes(c ^ (seq & 0xFF) for c in pdata)
    h = field_bytes(1, pdata)
    for num, key in ((2, "src"), (3, "dest"), (4, "dSrc"), (5, "dDest"), (6, "encType"),
                     (7, "checkType"), (8, "cmdFunc"), (9, "cmdId"), (10, "dataLen"),
                     (14, "seq"), (15, "productId"), (16, "version"), (17, "payloadVer")):
        if key in logged:
            h += field_varint(num, logged[key])
    return field_bytes(1, h)


def decoder_of(device):
    if device.startswith("RIVER 3"):
        return "river3plus"
    if device.startswith("RIVER 2"):
        return "river2"
    return "delta"


def payload(v):
    if v["encoding"] == "hex":
        raw = bytes.fromhex(v["payload"])
    elif v["encoding"] == "base64":
        raw = base64.b64decode(v["payload"])
    else:
        raw = v["payload"].encode()
    if v["payload_kind"] == "pdata":
        raw = wrap(raw, v["expected"]["header_as_logged"])
    return raw


EXTRA = {
    "delta": {
        "open-api-ems.json": b'{"moduleType":2,"typeCode":"emsStatus","params":{"f32LcdShowSoc":55.5}}',
        "open-api-slave.json": b'{"moduleType":"2","typeCode":"bmsSlaveStatus_1","params":{"soc":40}}',
        "open-api-param.json": b'{"cmdId":1,"cmdFunc":20,"addr":"iot","param":{"pd.wattsInSum":9}}',
        "quota-all.json": b'{"code":"0","message":"Success","data":{"inv.acInVol":0,"pd.soc":50}}',
        "camel.json": b'{"cmsBattSoc":42.5,"plugInInfoAcChargerFlag":true,"powGetAcIn":12.5}',
        "offline.json": b'{"data":{"online":0,"quotaMap":{"pd.soc":1}}}',
        "v1-packs.json": b'{"params":{"bmsMaster.f32ShowSoc":90,"bmsSlave1.fullCap":10000}}',
    },
    "river2": {
        "push.json": b'{"id":1330299618754038533,"moduleType":"2","params":{"bms_emsStatus.f32LcdShowSoc":83.1}}',
        "unplugged.json": b'{"params":{"inv.acInVol":0,"inv.acInFreq":0}}',
    },
    "river3plus": {
        "wake-request.bin": bytes.fromhex("0a101020182070e9d985a004ba0103696f73"),
    },
    "simulated": {
        "outage.json": b'{"soc": 5, "grid_connected": false, "temp_celsius": 35.0, '
                       b'"input_watts": 0, "output_watts": 120, "remain_minutes": 14}',
        "partial.json": b'{"soc": 80}',
        "nulls.json": b'{"soc": null, "grid_connected": null, "remain_minutes": null}',
        "bad-type.json": b'{"soc": "low"}',
    },
}


def main():
    vectors = json.load(open(os.path.join(SHARED, "protocol", "vectors.json")))
    out = {}
    for v in vectors:
        ext = ".json" if v["encoding"] == "json" else ".bin"
        out.setdefault(decoder_of(v["device"]), {})[v["name"] + ext] = payload(v)
        # the JSON family decoders share the key tables: seed river2 with DELTA 2 JSON too
        if v["encoding"] == "json" and v["device"].startswith("DELTA 2"):
            out.setdefault("river2", {})[v["name"] + ext] = payload(v)
    for target, files in EXTRA.items():
        out.setdefault(target, {}).update(files)
    for target, files in out.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(files.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(files)} files")


if __name__ == "__main__":
    main()
