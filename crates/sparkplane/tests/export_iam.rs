//! Bucket mode needs only `s3:PutObject` on the prefix (docs/export.md): exported with exactly
//! that policy while moto enforces IAM (`INITIAL_NO_AUTH_ACTION_COUNT`), and every wider action
//! with the same credentials is refused (issue 8).

#![allow(clippy::unwrap_used)]

mod export_support;

use export_support::*;

/// The documented minimal policy, for bucket `perf` and prefix `spark`.
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"SparkplaneExport","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::perf/spark/*"}]}"#;
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[test]
fn put_object_on_the_prefix_is_enough_and_nothing_more_is_allowed() {
    // The first 7 requests (the bootstrap below) run unauthenticated; every later one is
    // checked against IAM.
    let Some(moto) = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "7")]) else {
        return;
    };
    let keys = moto.boto(&format!(
        "s3.create_bucket(Bucket='perf')\n\
         out = {{}}\n\
         for user, policy in [('admin', '{ADMIN}'), ('exporter', '{POLICY}')]:\n\
         \x20   iam.create_user(UserName=user)\n\
         \x20   iam.put_user_policy(UserName=user, PolicyName='p', PolicyDocument=policy)\n\
         \x20   k = iam.create_access_key(UserName=user)['AccessKey']\n\
         \x20   out[user] = [k['AccessKeyId'], k['SecretAccessKey']]\n\
         print(json.dumps(out))"
    ));
    let keys: serde_json::Value = serde_json::from_str(&keys).unwrap();
    let (id, secret) = (
        keys["exporter"][0].as_str().unwrap(),
        keys["exporter"][1].as_str().unwrap(),
    );

    // The exporter's credentials are enough for the export.
    let out = sparkplane()
        .args([
            "export",
            "--event-log",
            pii_log().to_str().unwrap(),
            "--strict",
        ])
        .args(["--to", "s3://perf/spark", "--s3-endpoint", &moto.endpoint()])
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // ... and for nothing else: read, list, delete, or write outside the prefix.
    let verdicts = moto.boto(&format!(
        "from botocore.exceptions import ClientError\n\
         ex = boto3.client('s3', endpoint_url='{e}', region_name='us-east-1', aws_access_key_id='{id}', aws_secret_access_key='{secret}')\n\
         key = 'spark/local-1795597602833/1/summary.json'\n\
         tries = {{\n\
         \x20 'put_in_prefix': lambda: ex.put_object(Bucket='perf', Key='spark/x/1/summary.json', Body=b'{{}}'),\n\
         \x20 'get': lambda: ex.get_object(Bucket='perf', Key=key),\n\
         \x20 'list': lambda: ex.list_objects_v2(Bucket='perf'),\n\
         \x20 'delete': lambda: ex.delete_object(Bucket='perf', Key=key),\n\
         \x20 'put_outside_prefix': lambda: ex.put_object(Bucket='perf', Key='other/x', Body=b'{{}}'),\n\
         \x20 'create_bucket': lambda: ex.create_bucket(Bucket='another'),\n\
         }}\n\
         out = {{}}\n\
         for name, f in tries.items():\n\
         \x20   try:\n\
         \x20       f(); out[name] = 'allowed'\n\
         \x20   except ClientError as err:\n\
         \x20       out[name] = err.response['Error']['Code']\n\
         print(json.dumps(out))",
        e = moto.endpoint()
    ));
    let verdicts: serde_json::Value = serde_json::from_str(&verdicts).unwrap();
    eprintln!("exporter policy verdicts: {verdicts}");
    assert_eq!(verdicts["put_in_prefix"], "allowed");
    for wider in [
        "get",
        "list",
        "delete",
        "put_outside_prefix",
        "create_bucket",
    ] {
        assert_eq!(verdicts[wider], "AccessDenied", "{wider}: {verdicts}");
    }

    // The admin (s3:*) sees exactly the exported object (and the probe) in the bucket.
    let (aid, asecret) = (
        keys["admin"][0].as_str().unwrap(),
        keys["admin"][1].as_str().unwrap(),
    );
    let listed = moto.boto(&format!(
        "ad = boto3.client('s3', endpoint_url='{e}', region_name='us-east-1', aws_access_key_id='{aid}', aws_secret_access_key='{asecret}')\n\
         print(json.dumps(sorted(o['Key'] for o in ad.list_objects_v2(Bucket='perf')['Contents'])))",
        e = moto.endpoint()
    ));
    let listed: Vec<String> = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed,
        [
            "spark/local-1795597602833/1/summary.json",
            "spark/x/1/summary.json"
        ]
    );
}
