// Smoke test of the broker with the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs).
//
// Usage: node sqs_smoke.mjs ENDPOINT
//
// Creates a queue, sends messages with attributes (SendMessage and SendMessageBatch), receives
// them with every attribute, checks bodies and MD5 digests (the SDK itself checks the body MD5s
// and throws on a mismatch; the attribute MD5 is recomputed here), deletes them, deletes the
// queue, and expects QueueDoesNotExist as the SDK's typed exception. Prints one JSON summary on
// stdout; exits non-zero if anything unexpected happens.

import { createHash } from "node:crypto";

import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

const endpoint = process.argv[2];
if (!endpoint) {
  console.error("usage: node sqs_smoke.mjs ENDPOINT");
  process.exit(2);
}

const client = new SQSClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
  maxAttempts: 1,
});

function md5Hex(data) {
  return createHash("md5").update(data).digest("hex");
}

// MD5OfMessageAttributes as SQS computes it (length-prefixed name, type, transport byte, value).
function md5OfAttributes(attributes) {
  const parts = [];
  const prefixed = (buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(buffer.length);
    parts.push(length, buffer);
  };
  const names = Object.keys(attributes).sort((a, b) =>
    Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")),
  );
  for (const name of names) {
    const value = attributes[name];
    prefixed(Buffer.from(name, "utf8"));
    prefixed(Buffer.from(value.DataType, "utf8"));
    if (value.DataType.split(".")[0] === "Binary") {
      parts.push(Buffer.from([2]));
      prefixed(Buffer.from(value.BinaryValue));
    } else {
      parts.push(Buffer.from([1]));
      prefixed(Buffer.from(value.StringValue, "utf8"));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

async function main() {
  const summary = {};
  const name = `js-smoke-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const { QueueUrl: queueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  summary.queueUrl = queueUrl;

  const attributes = {
    colour: { DataType: "String", StringValue: "blue ☂" },
    count: { DataType: "Number", StringValue: "42" },
    blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
  };
  const body = "hello from the JS SDK ✓";
  const sent = await client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }),
  );
  summary.sent = {
    messageId: sent.MessageId,
    md5OfMessageBody: sent.MD5OfMessageBody,
    md5OfMessageAttributes: sent.MD5OfMessageAttributes,
    expectedMd5OfMessageBody: md5Hex(Buffer.from(body, "utf8")),
    expectedMd5OfMessageAttributes: md5OfAttributes(attributes),
  };

  const batch = await client.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: [
        { Id: "b1", MessageBody: "batch one" },
        { Id: "b2", MessageBody: "batch two" },
      ],
    }),
  );
  summary.batch = {
    successful: (batch.Successful ?? []).map((e) => e.Id).sort(),
    failed: (batch.Failed ?? []).length,
  };

  const counts = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "QueueArn"],
    }),
  );
  summary.approximateNumberOfMessages = counts.Attributes?.ApproximateNumberOfMessages;

  const received = [];
  for (let attempt = 0; attempt < 10 && received.length < 3; attempt++) {
    const response = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 2,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    received.push(...(response.Messages ?? []));
  }
  const first = received.find((m) => m.MessageId === sent.MessageId);
  if (!first) {
    throw new Error(`message ${sent.MessageId} not received: ${JSON.stringify(received)}`);
  }
  const blob = first.MessageAttributes?.blob?.BinaryValue;
  summary.received = {
    count: received.length,
    bodies: received.map((m) => m.Body).sort(),
    body: first.Body,
    md5OfBody: first.MD5OfBody,
    md5OfMessageAttributes: first.MD5OfMessageAttributes,
    stringAttribute: first.MessageAttributes?.colour?.StringValue,
    numberAttribute: first.MessageAttributes?.count?.StringValue,
    binaryAttribute: blob ? Array.from(blob) : null,
    receiveCount: first.Attributes?.ApproximateReceiveCount,
    hasSentTimestamp: Boolean(first.Attributes?.SentTimestamp),
  };

  for (const message of received) {
    await client.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
    );
  }
  const after = await client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
  );
  summary.leftAfterDelete = (after.Messages ?? []).length;

  await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  try {
    await client.send(new GetQueueUrlCommand({ QueueName: name }));
    summary.error = null;
  } catch (err) {
    summary.error = {
      name: err.name,
      code: err.Code ?? null,
      isQueueDoesNotExist: err instanceof QueueDoesNotExist,
      httpStatusCode: err.$metadata?.httpStatusCode ?? null,
      fault: err.$fault ?? null,
    };
  }
  return summary;
}

main()
  .then((summary) => {
    console.log(JSON.stringify(summary));
  })
  .catch((err) => {
    console.log(JSON.stringify({ fatal: String(err?.stack ?? err), name: err?.name ?? null }));
    process.exit(1);
  });
