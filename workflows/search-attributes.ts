import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, registered on the dev server at start and set
 * by the workflows, so the Web UI can filter by cluster, primary or operation.
 */
export const CLUSTER = defineSearchAttributeKey('GtidflowCluster', SearchAttributeType.KEYWORD);
export const PRIMARY = defineSearchAttributeKey('GtidflowPrimary', SearchAttributeType.KEYWORD);
export const OPERATION = defineSearchAttributeKey('GtidflowOperation', SearchAttributeType.KEYWORD);
export const VIEW_ID = defineSearchAttributeKey('GtidflowViewId', SearchAttributeType.INT);

/** name=type pairs for the dev server's --search-attribute flags. */
export const SEARCH_ATTRIBUTE_FLAGS = [CLUSTER, PRIMARY, OPERATION, VIEW_ID].map((key) => `${key.name}=${key.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`);
