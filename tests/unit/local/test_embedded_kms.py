"""Embedded KMS (fakes/kms.py): a symmetric key shares one signing pair it can never use, an asymmetric key
keeps its own, and each key still encrypts with its own material."""

import boto3
from moto import mock_aws
from moto.kms.models import kms_backends

from warden_local.fakes import install


def test_symmetric_keys_share_one_unusable_pair_and_asymmetric_keys_keep_their_own():
    install()
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        first, second = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
        hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        signing = [kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
                   for _ in range(2)]
        account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        keys = kms_backends[account]["us-east-1"].keys
        # Then the symmetric and HMAC keys share one pair, and each RSA key has its own
        assert keys[first].private_key is keys[second].private_key is keys[hmac].private_key
        assert keys[signing[0]].private_key is not keys[signing[1]].private_key
        assert keys[signing[0]].private_key is not keys[first].private_key
        # and an RSA key signs and verifies with its own pair, a symmetric key encrypts with its own material
        signed = kms.sign(KeyId=signing[0], Message=b"release", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        assert kms.verify(KeyId=signing[0], Message=b"release", Signature=signed,
                          SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"]
        blob = kms.encrypt(KeyId=first, Plaintext=b"secret")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
        assert kms.decrypt(CiphertextBlob=blob)["KeyId"].endswith(first)
        assert keys[first].key_material != keys[second].key_material
