import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalUri, signV4 } from '../../../../serving/artifacts/sigv4.ts';

const EMPTY = createHash('sha256').update('').digest('hex');

// AWS's published SigV4 test suite ("get-vanilla", "get-vanilla-query-order-key-case").
const suite = {
  region: 'us-east-1',
  service: 'service',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
  payloadHash: EMPTY,
};

// The examples of the S3 API reference ("Signature Calculations for the Authorization Header").
const s3 = {
  region: 'us-east-1',
  service: 's3',
  credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  date: new Date(Date.UTC(2013, 4, 24, 0, 0, 0)),
  contentSha256Header: true,
};

describe('SigV4 signing (AWS test vectors)', () => {
  it('get-vanilla', () => {
    const signed = signV4({
      ...suite,
      method: 'GET',
      url: new URL('https://example.amazonaws.com/'),
      headers: {},
      doubleEncodePath: true,
    });
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('get-vanilla-query-order-key-case: the query is sorted', () => {
    const signed = signV4({
      ...suite,
      method: 'GET',
      url: new URL('https://example.amazonaws.com/?Param2=value2&Param1=value1'),
      headers: {},
    });
    expect(signed.signature).toBe('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  it('S3 GET object with a range header', () => {
    const signed = signV4({
      ...s3,
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      headers: { Range: 'bytes=0-9' },
      payloadHash: EMPTY,
    });
    expect(signed.canonicalRequest.split('\n').slice(0, 3)).toEqual(['GET', '/test.txt', '']);
    expect(signed.stringToSign.split('\n').at(-1)).toBe('7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972');
    expect(signed.signature).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('S3 PUT object: $ in the key is encoded once, Date and storage class are signed', () => {
    const body = 'Welcome to Amazon S3.';
    const signed = signV4({
      ...s3,
      method: 'PUT',
      url: new URL('https://examplebucket.s3.amazonaws.com/test$file.text'),
      headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: createHash('sha256').update(body).digest('hex'),
    });
    expect(signed.canonicalRequest.split('\n')[1]).toBe('/test%24file.text');
    expect(signed.headers.authorization).toContain('SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class');
    expect(signed.signature).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('S3 GET bucket lifecycle (a parameter without value) and list objects (sorted parameters)', () => {
    const lifecycle = signV4({
      ...s3,
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/?lifecycle'),
      headers: {},
      payloadHash: EMPTY,
    });
    expect(lifecycle.signature).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    const list = signV4({
      ...s3,
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J'),
      headers: {},
      payloadHash: EMPTY,
    });
    expect(list.signature).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('encodes paths per RFC 3986, once for S3 and twice for other services', () => {
    expect(canonicalUri('/a b/c%2Fd/(x)')).toBe('/a%20b/c%2Fd/%28x%29');
    expect(canonicalUri('/a b', true)).toBe('/a%2520b');
  });
});
