"""Fills a fresh moto server for tests/probe.rs, then turns its authentication on.

Bucket "velero" with two clusters' prefixes (cluster-b also holds a directory Velero does not own), bucket
"velero-locked" with object lock (and so versioning) on, and two IAM
users: "velero" allowed s3:* (the plugin README's policy, widened to every bucket so that a missing bucket answers
NoSuchBucket rather than AccessDenied) and "lister" allowed only s3:ListBucket and s3:GetObject (list allowed, put
denied). Prints {"velero": [key, secret], "lister": [key, secret]}.

Usage: python3 moto_setup.py ENDPOINT
"""
import json
import sys
import urllib.request

import boto3

endpoint = sys.argv[1]
# Before authentication is on, moto accepts any key.
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
s3 = boto3.client("s3", **kw)
iam = boto3.client("iam", **kw)
s3.create_bucket(Bucket="velero")
for key in ["cluster-a/backups/b1/velero-backup.json", "cluster-a/kopia/default/kopia.repository",
            "cluster-b/backups/b1/velero-backup.json", "cluster-b/old-app-dumps/db.sql"]:
    s3.put_object(Bucket="velero", Key=key, Body=b"{}")
# A bucket with object lock (immutable backups), hence versioning: a plain DELETE there keeps the probe's bytes.
s3.create_bucket(Bucket="velero-locked", ObjectLockEnabledForBucket=True)
s3.put_object(Bucket="velero-locked", Key="cluster-a/backups/b1/velero-backup.json", Body=b"{}")
users = [
    ("velero", ["s3:*"], ["*"]),
    ("lister", ["s3:ListBucket", "s3:GetObject"], ["arn:aws:s3:::velero", "arn:aws:s3:::velero/*"]),
]
keys = {}
for user, actions, resources in users:
    iam.create_user(UserName=user)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}
    iam.put_user_policy(UserName=user, PolicyName="velero", PolicyDocument=json.dumps(policy))
    created = iam.create_access_key(UserName=user)["AccessKey"]
    keys[user] = [created["AccessKeyId"], created["SecretAccessKey"]]
# From now on every request is authenticated and authorized (moto_api reset-auth: no unauthenticated actions left).
reset = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                               headers={"Content-Type": "text/plain"})
urllib.request.urlopen(reset).read()
print(json.dumps(keys))
